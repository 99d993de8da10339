#pragma once
// Helpers of the RDB unit tests: hex, the fixtures written by tests/data/rdb/generate.py (real
// servers' DUMP payloads, BGSAVE files and each key's value read with type commands), and the
// canonical form of a decoded value, which must equal the servers' own.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/rdb/decode.hpp"

namespace ferry::protocol::rdb::testing {

inline std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

inline std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

/// The folder of the committed fixtures.
inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "rdb";
}

/// Versions with fixtures (folder names).
inline std::vector<std::string> fixture_versions() {
  return {"5.0", "6.2", "7.0", "7.4", "valkey-8.0"};
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// One key of a fixture.
struct fixture_key {
  std::string key;
  std::string type;
  std::string encoding;
  std::uint64_t db = 0;
  std::int64_t expire_ms = 0;
  std::string payload;
  std::vector<std::string> items;
};

inline std::vector<fixture_key> load_fixture(const std::string& version) {
  std::ifstream in(fixtures_dir() / version / "keys.txt");
  std::vector<fixture_key> keys;
  fixture_key cur;
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    const std::string tag = line.substr(0, sp);
    const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (tag == "key") {
      cur = fixture_key{};
      cur.key = from_hex(rest);
    } else if (tag == "type") {
      const auto sp2 = rest.find(' ');
      cur.type = rest.substr(0, sp2);
      cur.encoding = rest.substr(sp2 + 1);
    } else if (tag == "db") {
      cur.db = std::stoull(rest);
    } else if (tag == "expire") {
      cur.expire_ms = std::stoll(rest);
    } else if (tag == "payload") {
      cur.payload = from_hex(rest);
    } else if (tag == "item") {
      cur.items.push_back(rest);
    } else if (tag == "end") {
      keys.push_back(cur);
    }
  }
  return keys;
}

/// Turns a value's events into the fixture's canonical items. Feed every event, then `items()`.
class canonical_builder {
 public:
  explicit canonical_builder(bool with_stream_v2_fields) : v2_(with_stream_v2_fields) {}

  void add(const value_event& e) {
    switch (e.type) {
      case event_type::begin:
        kind_ = e.kind;
        hash_has_ttl_ = e.kind == value_kind::hash && e.type_id >= 22 && e.type_id <= 25;
        break;
      case event_type::string_piece:
      case event_type::element:
      case event_type::hash_value:
        if (e.first_piece()) item_.clear();
        item_.append(e.data);
        ++pieces_;
        if (e.last_piece()) {
          if (e.type == event_type::hash_value) {
            value_ = item_;
            if (!expects_expiry_) push_hash(0);
          } else {
            out_.push_back(to_hex(item_));
          }
        }
        break;
      case event_type::zset_member: {
        const auto bits = std::bit_cast<std::uint64_t>(e.score);
        std::string le;
        for (int i = 0; i < 8; ++i) le.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
        out_.push_back(to_hex(e.data) + " " + to_hex(le));
        break;
      }
      case event_type::hash_field:
        field_ = std::string(e.data);
        expects_expiry_ = hash_has_ttl_;
        break;
      case event_type::hash_field_expiry:
        push_hash(e.expire_ms);
        break;
      case event_type::stream_entry: {
        std::string line = "e " + e.id.text();
        for (std::string_view f : e.fields) {
          line += ' ';
          line += to_hex(f);
        }
        out_.push_back(line);
        break;
      }
      case event_type::stream_meta:
        out_.push_back(fmt::format("m {} {}", e.meta.length, e.meta.last_id.text()));
        if (v2_) {
          out_.push_back(fmt::format("m2 {} {} {}", e.meta.first_id.text(),
                                     e.meta.max_deleted_id.text(), e.meta.entries_added));
        }
        break;
      case event_type::stream_group:
        flush_pending();
        group_ = std::string(e.group.name);
        out_.push_back(
            v2_ ? fmt::format("g {} {} {}", to_hex(group_), e.group.last_delivered_id.text(),
                              e.group.entries_read)
                : fmt::format("g {} {}", to_hex(group_), e.group.last_delivered_id.text()));
        break;
      case event_type::stream_consumer:
        out_.push_back(
            fmt::format("c {} {} {}", to_hex(group_), to_hex(e.consumer.name), e.consumer.pending));
        break;
      case event_type::stream_pending:
        pending_.emplace_back(e.pending.id,
                              fmt::format("p {} {} {} {}", to_hex(group_), e.pending.id.text(),
                                          to_hex(e.pending.consumer), e.pending.delivery_count));
        break;
      case event_type::end:
        flush_pending();
        ended_ = true;
        break;
    }
  }

  /// The items, sorted where the fixture sorts them (sets, zsets, hashes).
  std::vector<std::string> items() const {
    std::vector<std::string> out = out_;
    if (kind_ == value_kind::set || kind_ == value_kind::zset || kind_ == value_kind::hash) {
      std::sort(out.begin(), out.end());
    }
    return out;
  }
  bool ended() const { return ended_; }
  std::size_t pieces() const { return pieces_; }

 private:
  void push_hash(std::int64_t expire) {
    out_.push_back(fmt::format("{} {} {}", to_hex(field_), to_hex(value_), expire));
  }
  void flush_pending() {
    std::sort(pending_.begin(), pending_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& p : pending_) out_.push_back(p.second);
    pending_.clear();
  }

  bool v2_;
  value_kind kind_ = value_kind::string;
  std::vector<std::string> out_;
  std::string item_;
  std::string field_;
  std::string value_;
  std::string group_;
  bool hash_has_ttl_ = false;
  bool expects_expiry_ = false;
  bool ended_ = false;
  std::size_t pieces_ = 0;
  std::vector<std::pair<stream_id, std::string>> pending_;
};

/// True for fixtures whose server reports stream metadata of RDB 10+ (XINFO of 7.0+).
inline bool stream_v2_fields(const std::string& version) {
  return version != "5.0" && version != "6.2";
}

/// Decodes a payload into canonical items (failing the test on an error).
inline std::vector<std::string> decode_canonical(std::string_view payload, bool v2,
                                                 decode_options options = {},
                                                 std::size_t* pieces = nullptr) {
  auto d = value_decoder::from_payload(payload, options);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  if (!d.ok()) return {};
  canonical_builder b(v2);
  for (;;) {
    auto e = d->next();
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    if (!e.ok() || *e == nullptr) break;
    b.add(**e);
  }
  EXPECT_TRUE(b.ended());
  if (pieces) *pieces = b.pieces();
  return b.items();
}

}  // namespace ferry::protocol::rdb::testing
