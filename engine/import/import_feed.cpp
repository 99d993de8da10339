#include "engine/import/import_feed.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "engine/import/batch_builder.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/key_text.hpp"
#include "engine/runtime/pauses.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
namespace rdb = protocol::rdb;

namespace {

/// AUX fields that tell one saved file from another.
constexpr std::string_view identity_fields[] = {"redis-ver", "ctime",       "used-mem",
                                                "repl-id",   "repl-offset", "aof-base"};

bool is_identity_field(std::string_view name) {
  for (const auto field : identity_fields) {
    if (name == field) return true;
  }
  return false;
}

/// The reader's error as the job's: names the file and says what to do.
protocol::failure file_failure(const std::string& name, const rdb::error& e) {
  const bool damaged = e.code == rdb::errc::truncated || e.code == rdb::errc::bad_checksum ||
                       e.code == rdb::errc::bad_encoding || e.code == rdb::errc::bad_length ||
                       e.code == rdb::errc::io_failed;
  return fail_with(
      job_error::input_file,
      fmt::format("the RDB file '{}' cannot be read at byte {}: {}{}", name, e.offset, e.message,
                  damaged ? "; the file is damaged or incomplete: make it again (or "
                            "copy it again) and import the new one"
                          : ""));
}

/// The feed's state while it reads: the batch being built and what it has settled itself.
class feeder {
 public:
  explicit feeder(feed_context& c) : c_(c) {}

  asio::awaitable<void> run();

 private:
  /// Handles one key of the imported database (`reader` streams its value when it is large).
  asio::awaitable<void> take_key(rdb::key_entry& key, rdb::file_reader& reader);
  /// Writes a key with type commands (struct mode) and settles it in this batch; `reason` says
  /// why RESTORE could not carry it (for a failure's message).
  asio::awaitable<void> write_struct(const rdb::key_entry& key, rebuild_reason why,
                                     event_source& events, std::string_view reason = {});
  /// A key that cannot be imported: recorded, counted, settled by this batch.
  void fail_key(std::string_view key, std::string_view kind, const std::string& why);
  void fail_key(const rdb::key_entry& key, std::string_view kind, const std::string& why) {
    fail_key(std::string_view(key.key), kind, why);
  }
  /// Counts how struct mode ended a key, in this batch.
  void settle_struct(std::string_view key, rebuild_reason why, const rebuild_outcome& o,
                     std::string_view reason);
  /// A key held in memory for struct mode: a small one waits to share a round trip with
  /// others (flush_small), a larger one is written now.
  asio::awaitable<void> struct_from_payload(rdb::key_entry& key, rebuild_reason why,
                                            std::string_view reason = {});
  /// Writes the small keys waiting for struct mode and settles them in this batch.
  asio::awaitable<void> flush_small();
  /// Struct mode failed the job: it says so, nothing more is settled.
  void struct_failed(const protocol::failure& f);
  /// Hands the batch on (or settles it here when nothing in it is to be written); `last` when
  /// the file's end has been read.
  asio::awaitable<bool> send(std::uint64_t next_offset);
  /// The batch is cut: by the keys and bytes to RESTORE, or by the keys read (those struct
  /// mode wrote, or expired ones), so that the state file's offset moves on in every job.
  bool full() const {
    return batch_.keys() >= c_.config.tune.batch_keys ||
           batch_.bytes() >= c_.config.tune.batch_bytes || scanned_ >= c_.config.tune.batch_keys;
  }
  bool identity_checked();

  feed_context& c_;
  batch_builder batch_;
  counts tally_;  // keys of the batch being built that the feed settled itself
  std::uint64_t scanned_ = 0;
  std::uint64_t seq_ = 0;
  bool identity_done_ = false;
  bool struct_stopped_ = false;  // struct mode failed the job mid-key: nothing more is settled
  // Small keys waiting for struct mode, why each goes there and RESTORE's reason, their bytes.
  std::vector<struct_writer::small_key> small_;
  std::vector<std::pair<rebuild_reason, std::string>> small_why_;
  std::size_t small_bytes_ = 0;
  std::vector<rebuild_outcome> small_outcomes_;
};

/// The events of the value the file reader is streaming (read once).
class reader_events final : public event_source {
 public:
  explicit reader_events(rdb::file_reader& reader) : reader_(reader) {}
  rdb::result<const rdb::value_event*> next() override { return reader_.next_value_event(); }
  bool rewind() override { return false; }
  bool streamed() const override { return true; }

 private:
  rdb::file_reader& reader_;
};

bool feeder::identity_checked() {
  if (identity_done_) return true;
  identity_done_ = true;
  if (!c_.check_identity) return true;
  if (auto same = c_.check_identity(c_.found.identity); !same) {
    c_.control.fail(same.error());
    return false;
  }
  return true;
}

void feeder::fail_key(std::string_view key, std::string_view kind, const std::string& why) {
  c_.failures.record(c_.label, key, kind, why);
  shard_counters::add(c_.counters.failed, 1);
  ++tally_.failed;
}

asio::awaitable<void> feeder::take_key(rdb::key_entry& key, rdb::file_reader& reader) {
  ++scanned_;
  shard_counters::add(c_.counters.scanned, 1);
  if (key.expire_ms != 0 && key.expire_ms <= unix_ms()) {
    // Expired before it could be written: what the target's own load of the file does too.
    shard_counters::add(c_.counters.vanished, 1);
    ++tally_.vanished;
    co_return;
  }
  if (key.module_id) ++c_.found.modules[rdb::module_name(*key.module_id)];
  if (key.streamed) {
    // Over the payload limit (or --big-key-bytes): written in pieces as the reader decodes it.
    reader_events events(reader);
    co_await write_struct(key, rebuild_reason::big_key, events);
    co_return;
  }
  if (c_.all_struct != rebuild_reason::none) {
    co_await struct_from_payload(key, c_.all_struct);
    co_return;
  }
  if (c_.target_version && !rdb::accepts_version(*c_.target_version, c_.found.header.version)) {
    auto verdict = rdb::downgrade_payload(key.payload, *c_.target_version);
    if (!verdict) {
      fail_key(key, "bad_payload", verdict.error().message);
      co_return;
    }
    if (verdict->verdict == rdb::downgrade_verdict::needs_struct) {
      // A type or encoding the target's RDB version does not know: type commands, from the
      // payload's decoded value.
      co_await struct_from_payload(key, rebuild_reason::bad_payload, verdict->reason);
      co_return;
    }
    if (verdict->verdict == rdb::downgrade_verdict::rewritten) {
      ++c_.found.downgraded;
      // Of the keys the writers count restored (the report tells the two apart).
      ++tally_.downgraded;
      shard_counters::add(c_.counters.downgraded, 1);
    }
  }
  batch_.add(key.key, key.payload, key.expire_ms);
}

asio::awaitable<void> feeder::write_struct(const rdb::key_entry& key, rebuild_reason why,
                                           event_source& events, std::string_view reason) {
  if (c_.structs == nullptr) {
    ++c_.found.needs_struct;
    fail_key(key, "needs_struct",
             fmt::format("{}; struct mode (type commands) does not run in this job",
                         reason.empty() ? std::string_view("RESTORE cannot carry it") : reason));
    co_return;
  }
  const std::uint64_t size = events.streamed() ? 0 : key.payload.size();
  auto written = co_await c_.structs->write(key.key, key.expire_ms, size, events);
  if (!written) {
    struct_failed(written.error());
    co_return;
  }
  settle_struct(key.key, why, *written, reason);
}

void feeder::struct_failed(const protocol::failure& f) {
  if (f.code != make_error_code(job_error::stopped)) {
    const bool oom = f.code == make_error_code(protocol::errc::oom);
    c_.control.fail(
        {f.code, oom ? fmt::format("target is out of memory (struct mode): {}", f.message)
                     : fmt::format("struct mode: {}", f.message)});
  }
  struct_stopped_ = true;
}

asio::awaitable<void> feeder::struct_from_payload(rdb::key_entry& key, rebuild_reason why,
                                                  std::string_view reason) {
  if (c_.structs == nullptr || !c_.structs->small(key.payload.size())) {
    payload_events events(key.payload);
    co_await write_struct(key, why, events, reason);
    co_return;
  }
  small_bytes_ += key.key.size() + key.payload.size();
  small_.push_back({std::move(key.key), std::move(key.payload), key.expire_ms});
  small_why_.emplace_back(why, std::string(reason));
  // A round trip's worth: about as much as a RESTORE batch.
  if (small_.size() >= c_.config.tune.batch_keys || small_bytes_ >= c_.config.tune.batch_bytes) {
    co_await flush_small();
  }
}

asio::awaitable<void> feeder::flush_small() {
  if (small_.empty() || struct_stopped_) co_return;
  auto written = co_await c_.structs->write_small(small_, small_outcomes_);
  if (!written) {
    struct_failed(written.error());
    co_return;
  }
  for (std::size_t i = 0; i < small_.size(); ++i) {
    settle_struct(small_[i].key, small_why_[i].first, small_outcomes_[i], small_why_[i].second);
  }
  small_.clear();
  small_why_.clear();
  small_bytes_ = 0;
}

void feeder::settle_struct(std::string_view key, rebuild_reason why, const rebuild_outcome& o,
                           std::string_view reason) {
  switch (o.end) {
    case rebuild_end::copied:
    case rebuild_end::rescanned:
      ++tally_.copied;
      ++tally_.rebuilt;
      ++tally_.rebuilt_by[static_cast<std::size_t>(why)];
      tally_.bytes += o.bytes;
      shard_counters::add(c_.counters.copied, 1);
      shard_counters::add(c_.counters.rebuilt, 1);
      shard_counters::add(c_.counters.rebuilt_by[static_cast<std::size_t>(why)], 1);
      shard_counters::add(c_.counters.bytes, o.bytes);
      if (o.changed) {
        c_.found.warnings.push_back(fmt::format(
            "key {}: the target holds another length than struct mode wrote to it (something "
            "else wrote its temporary key?): check it",
            printable_key(key)));
      }
      break;
    case rebuild_end::vanished:
      shard_counters::add(c_.counters.vanished, 1);
      ++tally_.vanished;
      break;
    case rebuild_end::exists:
      if (c_.config.existing == existing_policy::skip) {
        shard_counters::add(c_.counters.skipped, 1);
        ++tally_.skipped;
      } else {
        fail_key(key, protocol::errc_name(protocol::errc::busykey),
                 "the key exists on the target (--on-existing fail)");
      }
      break;
    case rebuild_end::failed:
    case rebuild_end::fatal:
      ++c_.found.needs_struct;
      fail_key(key, protocol::errc_name(o.error),
               reason.empty()
                   ? o.detail
                   : fmt::format("{}; written with type commands instead: {}", reason, o.detail));
      break;
  }
  if (o.lost_pending > 0) {
    c_.found.warnings.push_back(fmt::format(
        "stream {}: {} pending entries of its consumer groups refer to entries not in the "
        "stream (or to no consumer) and could not be recreated with type commands (XCLAIM "
        "needs the entry)",
        printable_key(key), o.lost_pending));
  }
}

asio::awaitable<bool> feeder::send(std::uint64_t next_offset) {
  // The batch's keys waiting for struct mode are settled before it leaves (the ledger must not
  // pass a key still to be written).
  co_await flush_small();
  if (struct_stopped_) co_return false;
  const std::uint64_t seq = seq_++;
  const std::uint64_t scanned = scanned_;
  scanned_ = 0;
  if (batch_.keys() == 0) {
    // Nothing to write: the feed settles the batch itself (an empty one may end the file).
    c_.ledger.opened(seq, next_offset, scanned);
    c_.ledger.settled(seq, tally_);
    tally_ = {};
    co_return true;
  }
  if (c_.limiter.active()) {
    co_await pause_for(c_.limiter.take(batch_.keys(), batch_.bytes(), rate_limiter::clock::now()),
                       c_.control);
  }
  record_batch batch = batch_.seal(seq);
  batch.tally = tally_;
  tally_ = {};
  // Registered before it leaves, so the ledger knows it before any writer settles it.
  c_.ledger.opened(seq, next_offset, scanned);
  if (c_.control.stopping()) co_return false;  // never sent: its keys stay for the next run
  auto [ec] = co_await c_.out.async_send(boost::system::error_code{}, std::move(batch),
                                         asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

asio::awaitable<void> feeder::run() {
  rdb::reader_options options;
  options.max_payload_bytes = c_.max_payload_bytes;
  options.skip_keys_before = c_.start_offset;
  rdb::file_reader reader(c_.source, options);
  feed_findings& found = c_.found;
  auto header = reader.open();
  if (!header) {
    found.failure = file_failure(c_.label, header.error());
  } else {
    found.header = **header;
    found.identity.magic = found.header.magic;
    found.identity.version = found.header.version;
  }
  std::uint64_t after_last_key = reader.offset();  // where the keys read whole end
  while (header && !c_.control.stopping()) {
    auto next = reader.next();
    found.offset = reader.offset();
    if (!next) {
      // The keys read before the damage are whole: they are still written, then the job fails.
      found.failure = file_failure(c_.label, next.error());
      if (batch_.keys() != 0 || scanned_ != 0) co_await send(after_last_key);
      break;
    }
    const rdb::record* r = *next;
    if (r == nullptr) break;
    if (r->type == rdb::record_type::aux) {
      if (is_identity_field(r->name)) found.identity.aux[r->name] = r->value;
      continue;
    }
    if (!identity_checked()) break;
    switch (r->type) {
      case rdb::record_type::select_db:
      case rdb::record_type::slot_info:
      case rdb::record_type::module_aux:
      case rdb::record_type::aux:
        continue;
      case rdb::record_type::resize_db:
        found.db_sizes[r->db] = r->db_size;
        continue;
      case rdb::record_type::function: {
        ++found.functions;
        auto restored = co_await c_.restore_function(r->value);
        if (!restored) {
          c_.control.fail(restored.error());
        } else if (*restored) {
          ++found.functions_restored;
        }
        continue;
      }
      case rdb::record_type::function_pre_ga:
        ++found.functions;
        found.warnings.push_back(fmt::format(
            "the file holds function '{}' in the format of Redis 7.0's release candidates, "
            "which no released server loads: it was not restored",
            r->name));
        continue;
      case rdb::record_type::key: {
        rdb::key_entry& key = const_cast<rdb::key_entry&>(r->key);
        if (!found.db) found.db = key.db;
        if (key.db != *found.db) {
          ++found.other_dbs[key.db];
          continue;
        }
        co_await take_key(key, reader);
        if (struct_stopped_) break;  // the batch with the key stays unsettled
        after_last_key = reader.offset();
        // A value streamed to struct mode is settled: the offset may move past it at once.
        if ((full() || key.streamed) && !co_await send(after_last_key)) break;
        continue;
      }
      case rdb::record_type::end:
        found.end_reached = true;
        found.checksum_checked = r->checksum_checked;
        continue;
    }
  }
  if (found.end_reached && !found.failure && !c_.control.stopping() && identity_checked()) {
    co_await send(0);  // the last batch: the file is complete once it is settled
  }
  co_await end_stream(c_.out, c_.consumers);
}

}  // namespace

std::string file_identity::fingerprint() const {
  std::string text = fmt::format("{} {}", magic, version);
  for (const auto& [name, value] : aux) text += fmt::format("; {}={}", name, value);
  if (size != 0) text += fmt::format("; size={}", size);
  return text;
}

maybe<file_survey> survey_file(rdb::byte_source& source, const std::string& name,
                               std::uint64_t file_size) {
  rdb::reader_options options;
  options.skip_keys_before = UINT64_MAX;  // walk every value, build no payload
  rdb::file_reader reader(source, options);
  file_survey survey;
  survey.identity.size = file_size;
  auto header = reader.open();
  if (!header) return file_failure(name, header.error());
  survey.header = **header;
  survey.identity.magic = survey.header.magic;
  survey.identity.version = survey.header.version;
  for (;;) {
    auto next = reader.next();
    if (!next) return file_failure(name, next.error());
    const rdb::record* r = *next;
    if (r == nullptr) {
      return fail_with(job_error::input_file,
                       fmt::format("the RDB file '{}' ends without its EOF record", name));
    }
    switch (r->type) {
      case rdb::record_type::aux:
        if (is_identity_field(r->name)) survey.identity.aux[r->name] = r->value;
        break;
      case rdb::record_type::select_db:
        survey.databases.push_back({r->db, std::nullopt});
        break;
      case rdb::record_type::resize_db:
        if (!survey.databases.empty() && survey.databases.back().db == r->db) {
          survey.databases.back().keys = r->db_size;
        }
        break;
      case rdb::record_type::function:
      case rdb::record_type::function_pre_ga:
        ++survey.functions;
        break;
      case rdb::record_type::end:
        survey.checksum_checked = r->checksum_checked;
        return survey;
      default:
        break;
    }
  }
}

asio::awaitable<void> feed_file(feed_context& context) {
  feeder feed(context);
  co_await feed.run();
}

}  // namespace ferry::engine
