#include "protocol/rdb/reader.hpp"

#include <fmt/format.h>

#include <cctype>

#include "protocol/rdb/detail/generator.hpp"
#include "protocol/rdb/detail/input.hpp"
#include "protocol/rdb/detail/primitives.hpp"
#include "protocol/rdb/detail/walker.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::protocol::rdb {
namespace {

using detail::fail;

// A key for messages: printable ASCII kept, the rest escaped, long names cut.
std::string printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 64)) {
    if (std::isprint(c) && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (key.size() > 64) out += fmt::format("... ({} bytes)", key.size());
  return out;
}

}  // namespace

struct file_reader::impl {
  impl(byte_source& source, const reader_options& o, file_header& h)
      : options(o), in(source, 0, o.buffer_bytes), header(h) {}

  detail::generator<record> run();
  void read_header();

  reader_options options;
  detail::input in;
  file_header& header;
  bool opened = false;
  std::optional<error> failed;
  detail::generator<record> records;
  std::optional<value_decoder> value;
  std::string context;  // what is being read, for error messages
};

void file_reader::impl::read_header() {
  char magic[9];
  try {
    in.read(magic, 9);
  } catch (const detail::parse_error&) {
    fail(errc::bad_magic, 0, "the input is shorter than an RDB header (9 bytes): not an RDB file");
  }
  const std::string_view m(magic, 9);
  std::string_view digits;
  if (m.substr(0, 5) == "REDIS") {
    header.magic = "REDIS";
    digits = m.substr(5);
  } else if (m.substr(0, 6) == "VALKEY") {
    header.magic = "VALKEY";
    digits = m.substr(6);
  } else {
    fail(errc::bad_magic, 0,
         fmt::format("the input starts with '{}', not REDIS or VALKEY: not an RDB file (a gzip "
                     "file must be decompressed first)",
                     printable(m)));
  }
  unsigned v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      fail(errc::bad_magic, 0,
           fmt::format("the RDB header '{}' has no version number", printable(m)));
    }
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  header.version = static_cast<std::uint16_t>(v);
  header.flavor = flavor_of(header.version);
  const bool redis = header.magic == "REDIS";
  if (v < 1 || (redis && v >= version::valkey_first) || (!redis && v < version::valkey_first)) {
    fail(errc::unsupported_version, 5,
         fmt::format("RDB version {} with magic {} is not a version any server writes", v,
                     header.magic));
  }
  header.newer_than_known = redis ? v > version::newest_redis : v > version::newest_valkey;
}

detail::generator<record> file_reader::impl::run() {
  record rec;
  std::uint64_t db = 0;
  std::int64_t expire = 0;
  std::optional<std::uint64_t> lru_idle;
  std::optional<std::uint8_t> lfu_freq;
  std::optional<std::uint64_t> key_start;
  const std::uint16_t ver = header.version;
  const std::size_t value_limit = options.max_payload_bytes > payload_trailer_size + 1
                                      ? options.max_payload_bytes - payload_trailer_size - 1
                                      : 0;
  for (;;) {
    context.clear();
    const std::uint64_t at = in.offset();
    const std::uint8_t op = in.byte();
    rec = record{};
    rec.offset = at;
    switch (op) {
      case opcode::expiretime: {
        if (!key_start) key_start = at;
        const auto seconds = static_cast<std::int32_t>(detail::read_u32(in));
        expire = seconds <= 0 ? 1 : static_cast<std::int64_t>(seconds) * 1000;
        continue;
      }
      case opcode::expiretime_ms: {
        if (!key_start) key_start = at;
        const auto ms = static_cast<std::int64_t>(detail::read_u64(in));
        expire = ms <= 0 ? 1 : ms;
        continue;
      }
      case opcode::freq:
        if (!key_start) key_start = at;
        lfu_freq = in.byte();
        continue;
      case opcode::idle:
        if (!key_start) key_start = at;
        lru_idle = detail::read_length(in, "an LRU idle time");
        continue;
      case opcode::eof: {
        rec.type = record_type::end;
        if (ver >= version::with_checksum) {
          const std::uint64_t expected = in.checksum();
          context = "the file's trailing CRC64";
          rec.checksum = detail::read_u64(in);
          if (rec.checksum != 0) {
            if (options.verify_checksum && rec.checksum != expected) {
              fail(errc::bad_checksum, at + 1,
                   fmt::format("the file's CRC64 is {:016x} but its {} bytes give {:016x}: the "
                               "file is damaged",
                               rec.checksum, at + 1, expected));
            }
            rec.checksum_checked = options.verify_checksum;
          }
        }
        co_yield rec;
        co_return;
      }
      case opcode::selectdb:
        db = detail::read_length(in, "a database number");
        rec.type = record_type::select_db;
        rec.db = db;
        co_yield rec;
        continue;
      case opcode::resizedb:
        rec.type = record_type::resize_db;
        rec.db = db;
        rec.db_size = detail::read_length(in, "a database size");
        rec.expires_size = detail::read_length(in, "a database's expiry count");
        co_yield rec;
        continue;
      case opcode::slot_info:
        rec.type = record_type::slot_info;
        rec.slot = detail::read_length(in, "a slot number");
        rec.slot_size = detail::read_length(in, "a slot size");
        rec.slot_expires_size = detail::read_length(in, "a slot's expiry count");
        co_yield rec;
        continue;
      case opcode::aux:
        context = "an AUX field";
        rec.type = record_type::aux;
        rec.name = detail::read_string(in, 1 << 20, "an AUX field name");
        rec.value = detail::read_string(in, options.max_record_bytes, "an AUX field value");
        co_yield rec;
        continue;
      case opcode::function2:
        context = "a function library";
        rec.type = record_type::function;
        rec.value = detail::read_string(in, options.max_record_bytes, "a function library");
        co_yield rec;
        continue;
      case opcode::function_pre_ga: {
        context = "a function of the Redis 7.0 RC format";
        rec.type = record_type::function_pre_ga;
        rec.name = detail::read_string(in, 1 << 20, "a function name");
        rec.engine = detail::read_string(in, 1 << 20, "a function engine");
        if (detail::read_length(in, "a function description flag") != 0) {
          rec.description = detail::read_string(in, 1 << 20, "a function description");
        }
        rec.value = detail::read_string(in, options.max_record_bytes, "a function body");
        co_yield rec;
        continue;
      }
      case opcode::module_aux: {
        context = "a MODULE_AUX record";
        rec.type = record_type::module_aux;
        rec.module_id = detail::read_length(in, "a module id");
        const std::uint64_t when_op = detail::read_length(in, "a module opcode");
        if (when_op != module_opcode::uint) {
          fail(errc::bad_encoding, at,
               fmt::format("the MODULE_AUX record of module '{}' at byte {} has no 'when' field",
                           module_name(rec.module_id), at));
        }
        rec.module_when = detail::read_length(in, "a module aux 'when'");
        detail::walk_module_opcodes(in);
        co_yield rec;
        continue;
      }
      case opcode::slot_import:
        fail(errc::unknown_opcode, at,
             fmt::format("opcode 243 at byte {} ({}: {}) is not supported", at,
                         header.flavor == flavor::valkey ? "Valkey 9 slot-import state"
                                                         : "Redis 8 key metadata",
                         "save the file without it or copy the data with `ferry copy`"));
      default:
        break;
    }
    // A key: <type><key><value>.
    if (op >= 200) {
      fail(errc::unknown_opcode, at,
           fmt::format("unknown opcode {} at byte {} (RDB {} of {}){}", op, at, ver,
                       servers_of_version(ver),
                       header.newer_than_known ? ": the file is newer than ferry knows" : ""));
    }
    const std::uint64_t start = key_start.value_or(at);
    key_start.reset();
    const auto info = describe_type(op, ver);
    if (!info) {
      fail(errc::unknown_type, at,
           fmt::format("unknown value type {} at byte {} (RDB {} of {}){}", op, at, ver,
                       servers_of_version(ver),
                       header.newer_than_known ? ": the file is newer than ferry knows" : ""));
    }
    context = fmt::format("the key that starts at byte {}", start);
    key_entry& k = rec.key;
    k.key = detail::read_string(in, 512 << 20, "a key name");
    context = fmt::format("the value of key '{}' (db {}, type {}, record at byte {})",
                          printable(k.key), db, info->name, start);
    rec.type = record_type::key;
    k.db = db;
    k.type_id = op;
    k.kind = info->kind;
    k.expire_ms = expire;
    k.lru_idle = lru_idle;
    k.lfu_freq = lfu_freq;
    k.offset = start;
    expire = 0;
    lru_idle.reset();
    lfu_freq.reset();
    const std::uint64_t value_start = in.offset();
    if (start < options.skip_keys_before) {
      detail::walk_value(in, op, ver);
      continue;
    }
    k.payload.push_back(static_cast<char>(op));
    bool overflow = false;
    in.capture_into(&k.payload, value_limit + 1);
    try {
      k.module_id = detail::walk_value(in, op, ver).module_id;
    } catch (const detail::capture_overflow&) {
      overflow = true;
    } catch (...) {
      in.capture_into(nullptr);
      throw;
    }
    in.capture_into(nullptr);
    if (!overflow) {
      append_trailer(k.payload, ver);
      co_yield rec;
      continue;
    }
    // Over the limit: decode from the value's first byte instead of building a payload.
    k.payload.erase(0, 1);  // the type byte is not part of the value: replay in place, no copy
    in.replay(std::move(k.payload), value_start);
    k.payload = std::string();
    k.streamed = true;
    value.emplace(value_decoder::from_input(in, op, ver, options.decode));
    co_yield rec;
    // next() drained the value before resuming here.
    value.reset();
  }
}

file_reader::file_reader(byte_source& source, reader_options options)
    : impl_(std::make_unique<impl>(source, options, header_)) {}

file_reader::~file_reader() = default;

std::uint64_t file_reader::offset() const noexcept { return impl_->in.offset(); }

result<const file_header*> file_reader::open() {
  if (impl_->failed) return *impl_->failed;
  if (impl_->opened) return &header_;
  try {
    impl_->read_header();
  } catch (const detail::parse_error& e) {
    impl_->failed = e.get();
    return *impl_->failed;
  }
  impl_->opened = true;
  impl_->records = impl_->run();
  return &header_;
}

result<const record*> file_reader::next() {
  if (!impl_->opened) {
    auto h = open();
    if (!h) return h.error();
  }
  if (impl_->failed) return *impl_->failed;
  if (impl_->value) {
    auto skipped = impl_->value->skip_rest();
    if (!skipped) {
      impl_->failed = skipped.error();
      return *impl_->failed;
    }
  }
  try {
    const record* r = impl_->records.next();
    return r;
  } catch (const detail::parse_error& e) {
    error err = e.get();
    if (!impl_->context.empty()) {
      err.message += fmt::format(" (while reading {})", impl_->context);
    }
    impl_->failed = err;
    return *impl_->failed;
  }
}

result<const value_event*> file_reader::next_value_event() {
  if (impl_->failed) return *impl_->failed;
  if (!impl_->value) return static_cast<const value_event*>(nullptr);
  auto e = impl_->value->next();
  if (!e) {
    error err = e.error();
    err.message += fmt::format(" (while reading {})", impl_->context);
    impl_->failed = err;
    return *impl_->failed;
  }
  return e;
}

}  // namespace ferry::protocol::rdb
