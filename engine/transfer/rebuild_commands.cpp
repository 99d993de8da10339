#include "engine/transfer/rebuild_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace ferry::engine::rebuild_commands {

using protocol::bytes;
using protocol::reply;

void writer::begin(std::size_t argc) {
  if (asking) out.push({"ASKING"});
  out.begin(argc);
}

void writer::key_command(std::string_view name, const bytes& key) {
  begin(2);
  out.arg(name);
  out.arg_ref(key);
}

void writer::key_command(std::string_view name, std::string_view key) {
  begin(2);
  out.arg(name);
  out.arg(key);
}

void writer::key_int(std::string_view name, std::string_view key, std::int64_t value) {
  begin(3);
  out.arg(name);
  out.arg(key);
  out.arg(value);
}

void writer::plain(std::initializer_list<std::string_view> args) {
  if (asking) out.push({"ASKING"});
  out.push(args);
}

std::string_view expiry_command(const rebuild_caps& caps) noexcept {
  return caps.source_pexpiretime ? "PEXPIRETIME" : "PTTL";
}

std::string_view length_command(value_type type) noexcept {
  switch (type) {
    case value_type::string:
      return "STRLEN";
    case value_type::list:
      return "LLEN";
    case value_type::set:
      return "SCARD";
    case value_type::zset:
      return "ZCARD";
    case value_type::hash:
      return "HLEN";
    case value_type::stream:
      return "XLEN";
    default:
      return "EXISTS";
  }
}

std::string_view whole_read_name(value_type type) noexcept {
  switch (type) {
    case value_type::string:
      return "GET";
    case value_type::list:
      return "LRANGE";
    case value_type::set:
      return "SMEMBERS";
    case value_type::zset:
      return "ZRANGE";
    default:
      return "HGETALL";
  }
}

std::string_view chunk_read_name(value_type type) noexcept {
  switch (type) {
    case value_type::string:
      return "GETRANGE";
    case value_type::list:
      return "LRANGE";
    case value_type::set:
      return "SSCAN";
    case value_type::zset:
      return "ZSCAN";
    default:
      return "HSCAN";
  }
}

std::string_view write_name(value_type type) noexcept {
  switch (type) {
    case value_type::string:
      return "SET/APPEND";
    case value_type::list:
      return "RPUSH";
    case value_type::set:
      return "SADD";
    case value_type::zset:
      return "ZADD";
    default:
      return "HSET";
  }
}

void whole_read_command(writer& w, value_type type, const bytes& key) {
  switch (type) {
    case value_type::string:
      w.key_command("GET", key);
      return;
    case value_type::list:
    case value_type::zset:
      w.begin(type == value_type::zset ? 5 : 4);
      w.out.arg(type == value_type::zset ? "ZRANGE" : "LRANGE");
      w.out.arg_ref(key);
      w.out.arg("0");
      w.out.arg("-1");
      if (type == value_type::zset) w.out.arg("WITHSCORES");
      return;
    case value_type::set:
      w.key_command("SMEMBERS", key);
      return;
    default:
      w.key_command("HGETALL", key);
      return;
  }
}

void chunk_read_command(writer& w, value_type type, const bytes& key, const std::string& cursor,
                        std::uint64_t offset, std::size_t count) {
  const auto first = static_cast<std::int64_t>(offset);
  const auto last = static_cast<std::int64_t>(offset + count - 1);
  switch (type) {
    case value_type::string:
    case value_type::list:
      w.begin(4);
      w.out.arg(type == value_type::string ? "GETRANGE" : "LRANGE");
      w.out.arg_ref(key);
      w.out.arg(first);
      w.out.arg(last);
      return;
    default:
      w.begin(5);
      w.out.arg(chunk_read_name(type));
      w.out.arg_ref(key);
      w.out.arg(cursor);
      w.out.arg("COUNT");
      w.out.arg(static_cast<std::int64_t>(count));
      return;
  }
}

void field_ttls_command(writer& w, const bytes& key, const std::vector<reply>& items) {
  const std::size_t fields = items.size() / 2;
  w.begin(4 + fields);
  w.out.arg("HPEXPIRETIME");
  w.out.arg_ref(key);
  w.out.arg("FIELDS");
  w.out.arg(static_cast<std::int64_t>(fields));
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) w.out.arg_ref(items[i].str);
}

void rename_into_place(writer& w, std::string_view temp, std::string_view key,
                       std::int64_t expire_at_ms, bool keep_existing) {
  w.plain({"MULTI"});
  w.key_command("EXISTS", key);
  if (expire_at_ms > 0) {
    w.key_int("PEXPIREAT", temp, expire_at_ms);
  } else {
    w.key_command("PERSIST", temp);
  }
  w.begin(3);
  w.out.arg(keep_existing ? "RENAMENX" : "RENAME");
  w.out.arg(temp);
  w.out.arg(key);
  w.plain({"EXEC"});
}

void empty_stream_commands(writer& w, std::string_view temp) {
  w.begin(6);
  w.out.arg("XGROUP");
  w.out.arg("CREATE");
  w.out.arg(temp);
  w.out.arg("ferry-new");
  w.out.arg("$");
  w.out.arg("MKSTREAM");
  w.begin(4);
  w.out.arg("XGROUP");
  w.out.arg("DESTROY");
  w.out.arg(temp);
  w.out.arg("ferry-new");
}

void xsetid_command(writer& w, std::string_view temp, std::string_view last_id,
                    std::optional<std::int64_t> entries_added, std::string_view max_deleted_id) {
  w.begin(entries_added ? 7 : 3);
  w.out.arg("XSETID");
  w.out.arg(temp);
  w.out.arg(last_id.empty() ? std::string_view("0-0") : last_id);
  if (entries_added) {
    w.out.arg("ENTRIESADDED");
    w.out.arg(*entries_added);
    w.out.arg("MAXDELETEDID");
    w.out.arg(max_deleted_id.empty() ? std::string_view("0-0") : max_deleted_id);
  }
}

const reply* first_error(std::span<const reply> replies) noexcept {
  for (const reply& r : replies) {
    if (r.is_error()) return &r;
  }
  return nullptr;
}

exec_refusal refusal_in_exec(std::span<const reply> r, bool writes) noexcept {
  const reply& exec = r.back();
  if (const reply* bad = first_error(r.first(r.size() - 1)); bad != nullptr) {
    return {bad, "MULTI/EXEC"};
  }
  if (exec.is_error()) return {&exec, "EXEC"};
  if (writes) {
    if (const reply* bad = first_error(exec.elements); bad != nullptr) {
      return {bad, "a write in MULTI/EXEC"};
    }
  }
  return {};
}

placement judge_placement(std::span<const reply> r, bool keep_existing) noexcept {
  placement p;
  p.refusal = refusal_in_exec(r, /*writes=*/false);
  if (p.refusal.reply != nullptr) return p;
  const reply& exec = r.back();
  if (exec.elements.size() != 3) {
    p.outcome = placement::result::malformed;
    return p;
  }
  const reply& renamed = exec.elements[2];
  if (renamed.is_error()) {
    if (renamed.text().find("no such key") != std::string_view::npos) {
      p.outcome = placement::result::temp_gone;
    } else {
      p.refusal = {&renamed, keep_existing ? "RENAMENX" : "RENAME"};
    }
    return p;
  }
  p.temp_length = r[0].integer;
  if (keep_existing && renamed.integer == 0) {
    p.outcome = placement::result::kept;
    return p;
  }
  p.outcome = placement::result::placed;
  p.existed = exec.elements[0].integer > 0;
  return p;
}

std::size_t largest_skipped(const reply& r) noexcept {
  if (r.is_skipped()) return static_cast<std::size_t>(r.integer);
  std::size_t most = 0;
  for (const reply& e : r.elements) most = std::max(most, largest_skipped(e));
  return most;
}

std::size_t skipped_bytes(const reply& r) noexcept {
  if (r.is_skipped()) return static_cast<std::size_t>(r.integer);
  std::size_t total = 0;
  for (const reply& e : r.elements) total += skipped_bytes(e);
  return total;
}

std::size_t reply_bytes(const reply& r) noexcept {
  std::size_t total = r.str.size();
  for (const reply& e : r.elements) total += reply_bytes(e);
  return total;
}

const reply* field_of(const reply& flat, std::string_view name) noexcept {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].text() == name) return &flat.elements[i + 1];
  }
  return nullptr;
}

namespace {

struct stream_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
};

stream_id parse_id(std::string_view id) {
  stream_id out;
  const auto dash = id.find('-');
  const std::string_view ms = id.substr(0, dash);
  std::from_chars(ms.data(), ms.data() + ms.size(), out.ms);
  if (dash != std::string_view::npos) {
    const std::string_view seq = id.substr(dash + 1);
    std::from_chars(seq.data(), seq.data() + seq.size(), out.seq);
  }
  return out;
}

}  // namespace

std::string next_stream_id(std::string_view id) {
  const stream_id at = parse_id(id);
  if (at.seq == UINT64_MAX) return fmt::format("{}-0", at.ms + 1);
  return fmt::format("{}-{}", at.ms, at.seq + 1);
}

std::string max_stream_id(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  const stream_id x = parse_id(a);
  const stream_id y = parse_id(b);
  return (x.ms < y.ms || (x.ms == y.ms && x.seq < y.seq)) ? b : a;
}

}  // namespace ferry::engine::rebuild_commands
