#include "engine/import/export_file.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "engine/runtime/key_text.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::engine {

namespace rdb = protocol::rdb;

namespace {

/// The trailer's RDB version, read without checking the CRC (the writer checks it).
std::uint16_t payload_version(std::string_view payload) {
  if (payload.size() < rdb::payload_trailer_size) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data()) + payload.size() -
                  rdb::payload_trailer_size;
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

}  // namespace

export_file::export_file(const export_file_options& options, std::unique_ptr<atomic_file> file,
                         std::unique_ptr<name_store> names)
    : options_(options),
      file_(std::move(file)),
      dedup_(static_cast<std::size_t>(options.keys_hint), std::move(names)) {
  protocol::rdb::byte_sink* sink = &file_->sink();
  if (options_.gzip_level > 0) {
    gzip_ = std::make_unique<gzip_sink>(file_->sink(), options_.gzip_level);
    sink = gzip_.get();
  }
  rdb::writer_options w;
  w.version = options_.version;
  w.redis_version = options_.redis_version;
  writer_ = std::make_unique<rdb::file_writer>(*sink, w);
}

export_file::~export_file() = default;

maybe<std::unique_ptr<export_file>> export_file::create(const export_file_options& options) {
  auto file = atomic_file::create(options.path);
  if (!file) return file.error();
  const std::string dir = std::filesystem::absolute(options.path).parent_path().string();
  auto names = file_names::create(dir);
  if (!names) return names.error();
  std::unique_ptr<export_file> out(new export_file(options, std::move(*file), std::move(*names)));
  // The header and AUX fields are written by the writer's constructor; its error comes now.
  if (auto begun = out->writer_->begin_db(options.db, options.keys_hint, options.expires_hint);
      !begun) {
    return out->failed(begun.error()).error();
  }
  return out;
}

maybe<void> export_file::failed(const rdb::error& e) const {
  return fail_with(
      e.code == rdb::errc::io_failed ? job_error::output_file : job_error::configuration,
      fmt::format("{}: {}", options_.path, e.message));
}

maybe<void> export_file::functions(std::string_view dump_payload) {
  std::lock_guard lock(mutex_);
  if (auto done = writer_->function_dump(dump_payload); !done) {
    if (done.error().code == rdb::errc::version_refused) {
      return fail_with(job_error::configuration,
                       fmt::format("the source holds function libraries, which an RDB {} file ({}) "
                                   "cannot hold: choose --rdb-version 10 or later (the importer "
                                   "must take it), or delete the libraries from the source",
                                   options_.version, rdb::servers_of_version(options_.version)));
    }
    return failed(done.error());
  }
  return {};
}

maybe<void> export_file::write(const record_batch& batch, counts& tally) {
  std::lock_guard lock(mutex_);
  try {
    for (const record& r : batch.records) {
      if (dedup_.seen_before(r.key.view())) {
        ++tally.rescanned;  // SCAN returned it twice: the file holds it once
        continue;
      }
      const std::uint16_t v = payload_version(r.payload.view());
      if (auto done = writer_->key(r.key.view(), r.payload.view(), r.expire_at_ms); !done) {
        rdb::error e = done.error();
        e.message = fmt::format("key '{}': {}", printable_key(r.key.view()), e.message);
        return failed(e);
      }
      if (!rdb::accepts_version(options_.version, v)) ++downgraded_;
      ++tally.copied;
      tally.bytes += r.payload.size();
    }
  } catch (const std::exception& e) {
    return fail_with(job_error::output_file, e.what());
  }
  return {};
}

maybe<void> export_file::commit() {
  std::lock_guard lock(mutex_);
  if (auto done = writer_->finish(); !done) return failed(done.error());
  try {
    if (gzip_) gzip_->finish();
  } catch (const std::exception& e) {
    return fail_with(job_error::output_file, e.what());
  }
  return file_->commit();
}

}  // namespace ferry::engine
