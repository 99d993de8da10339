#include "tests/support/keyspace.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace ferry::testing {
namespace {

using command = std::vector<std::string>;

const reply& must(const reply& value, const command& cmd, const sync_client& client) {
  if (value.is_error()) {
    throw std::runtime_error(fmt::format("keyspace: {} {} on {} failed: {}", cmd.at(0),
                                         cmd.size() > 1 ? printable(cmd[1]) : "", client.address(),
                                         value.str));
  }
  return value;
}

// XINFO replies are flat [name, value, name, value, ...] arrays in RESP2.
std::map<std::string, reply> as_map(const reply& flat) {
  std::map<std::string, reply> out;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    out[flat.elements[i].str] = flat.elements[i + 1];
  }
  return out;
}

std::string scalar(const std::map<std::string, reply>& fields, const std::string& name) {
  const auto it = fields.find(name);
  if (it == fields.end()) {
    return "absent";
  }
  switch (it->second.kind) {
    case reply_kind::integer:
      return std::to_string(it->second.integer);
    case reply_kind::nil:
      return "nil";
    default:
      return it->second.str;
  }
}

std::string length_prefixed(const std::string& bytes) {
  return fmt::format("{}:{}", bytes.size(), bytes);
}

// Sorted (a, b) pairs of a flat array, flattened again: canonical hashes and zsets.
std::vector<std::string> sorted_pairs(const reply& flat) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    pairs.emplace_back(flat.elements[i].str, flat.elements[i + 1].str);
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<std::string> out;
  for (auto& [first, second] : pairs) {
    out.push_back(std::move(first));
    out.push_back(std::move(second));
  }
  return out;
}

void read_stream(sync_client& client, key_record& record) {
  const command range{"XRANGE", record.key, "-", "+"};
  const command info{"XINFO", "STREAM", record.key};
  const command groups_cmd{"XINFO", "GROUPS", record.key};
  const auto replies = client.pipeline({range, info, groups_cmd});
  for (const auto& entry : must(replies[0], range, client).elements) {
    std::string item = fmt::format("entry {}", entry[0].str);
    for (const auto& field : entry[1].elements) {
      item += ' ';
      item += length_prefixed(field.str);
    }
    record.value.push_back(std::move(item));
  }
  const auto meta = as_map(must(replies[1], info, client));
  // radix-tree sizes and first/last entry are encoding details or repeat XRANGE: left out.
  record.value.push_back(
      fmt::format("meta length={} last-generated-id={} max-deleted-entry-id={} entries-added={} "
                  "recorded-first-entry-id={}",
                  scalar(meta, "length"), scalar(meta, "last-generated-id"),
                  scalar(meta, "max-deleted-entry-id"), scalar(meta, "entries-added"),
                  scalar(meta, "recorded-first-entry-id")));

  std::vector<std::map<std::string, reply>> groups;
  for (const auto& group : must(replies[2], groups_cmd, client).elements) {
    groups.push_back(as_map(group));
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.at("name").str < b.at("name").str; });
  std::vector<command> details;
  for (const auto& group : groups) {
    const std::string& name = group.at("name").str;
    details.push_back({"XPENDING", record.key, name, "-", "+", "1000000"});
    details.push_back({"XINFO", "CONSUMERS", record.key, name});
  }
  const auto detail_replies = client.pipeline(details);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string& name = groups[g].at("name").str;
    record.value.push_back(
        fmt::format("group {} last-delivered-id={} entries-read={} pending={} consumers={}",
                    length_prefixed(name), scalar(groups[g], "last-delivered-id"),
                    scalar(groups[g], "entries-read"), scalar(groups[g], "pending"),
                    scalar(groups[g], "consumers")));
    // Idle times are left out: they change with the clock and are not part of a copy's identity.
    for (const auto& pending : must(detail_replies[2 * g], details[2 * g], client).elements) {
      record.value.push_back(fmt::format("pending {} {} {} deliveries={}", length_prefixed(name),
                                         pending[0].str, length_prefixed(pending[1].str),
                                         pending[3].integer));
    }
    std::vector<std::string> consumers;
    for (const auto& consumer :
         must(detail_replies[2 * g + 1], details[2 * g + 1], client).elements) {
      const auto fields = as_map(consumer);
      consumers.push_back(fmt::format("consumer {} {} pending={}", length_prefixed(name),
                                      length_prefixed(fields.at("name").str),
                                      scalar(fields, "pending")));
    }
    std::sort(consumers.begin(), consumers.end());
    record.value.insert(record.value.end(), consumers.begin(), consumers.end());
  }
}

void read_batch(sync_client& client, const std::vector<std::string>& keys, keyspace& out) {
  std::vector<command> meta;
  for (const auto& key : keys) {
    meta.push_back({"TYPE", key});
    meta.push_back({"PEXPIRETIME", key});
  }
  const auto meta_replies = client.pipeline(meta);
  // Servers before 7.0 have no PEXPIRETIME: their absolute expiry is PTTL from now, exact to
  // the round trip (compare such dumps with a tolerance on expiries).
  std::vector<std::int64_t> expiry(keys.size(), -1);
  std::vector<command> ttls;
  std::vector<std::size_t> by_ttl;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const reply& r = meta_replies[2 * i + 1];
    if (r.kind == reply_kind::error) {
      ttls.push_back({"PTTL", keys[i]});
      by_ttl.push_back(i);
    } else {
      expiry[i] = r.integer;
    }
  }
  if (!ttls.empty()) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    const auto ttl_replies = client.pipeline(ttls);
    for (std::size_t j = 0; j < ttls.size(); ++j) {
      const std::int64_t ttl = must(ttl_replies[j], ttls[j], client).integer;
      expiry[by_ttl[j]] = ttl >= 0 ? now + ttl : -1;
    }
  }
  std::vector<key_record> records;
  std::vector<command> reads;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& type = must(meta_replies[2 * i], meta[2 * i], client).str;
    if (type == "none") {
      continue;  // expired or deleted since SCAN
    }
    key_record record;
    record.key = keys[i];
    record.type = type;
    record.expire_at_ms = expiry[i];
    if (type == "string") {
      reads.push_back({"GET", keys[i]});
    } else if (type == "list") {
      reads.push_back({"LRANGE", keys[i], "0", "-1"});
    } else if (type == "set") {
      reads.push_back({"SMEMBERS", keys[i]});
    } else if (type == "zset") {
      reads.push_back({"ZRANGE", keys[i], "0", "-1", "WITHSCORES"});
    } else if (type == "hash") {
      reads.push_back({"HGETALL", keys[i]});
    } else if (type == "stream") {
      reads.push_back({"EXISTS", keys[i]});  // placeholder; read_stream does the real work
    } else {
      throw std::runtime_error("keyspace: unsupported type " + type + " of key " +
                               printable(keys[i]));
    }
    records.push_back(std::move(record));
  }
  const auto values = client.pipeline(reads);
  for (std::size_t i = 0; i < records.size(); ++i) {
    key_record& record = records[i];
    const reply& value = must(values[i], reads[i], client);
    if (record.type == "string") {
      if (value.is_nil()) {
        continue;
      }
      record.value.push_back(value.str);
    } else if (record.type == "list") {
      for (const auto& element : value.elements) {
        record.value.push_back(element.str);
      }
    } else if (record.type == "set") {
      for (const auto& element : value.elements) {
        record.value.push_back(element.str);
      }
      std::sort(record.value.begin(), record.value.end());
    } else if (record.type == "zset") {
      // ZRANGE gives member, score; canonical order is by member.
      record.value = sorted_pairs(value);
    } else if (record.type == "hash") {
      record.value = sorted_pairs(value);
    } else if (record.type == "stream") {
      read_stream(client, record);
    }
    out.push_back(std::move(record));
  }
}

}  // namespace

keyspace dump_keyspace(key_router& target) {
  keyspace out;
  for (sync_client* shard : target.shard_clients()) {
    // SCAN may return a key twice; collect into a set first.
    std::set<std::string> keys;
    std::string cursor = "0";
    int rounds = 0;
    do {
      const command scan{"SCAN", cursor, "COUNT", "1000"};
      const reply page = must(shard->command(scan), scan, *shard);
      cursor = page[0].str;
      for (const auto& key : page[1].elements) {
        keys.insert(key.str);
      }
      if (++rounds > 10'000'000) {
        throw std::runtime_error("keyspace: SCAN did not finish on " + shard->address());
      }
    } while (cursor != "0");
    std::vector<std::string> batch;
    for (const auto& key : keys) {
      batch.push_back(key);
      if (batch.size() == 500) {
        read_batch(*shard, batch, out);
        batch.clear();
      }
    }
    read_batch(*shard, batch, out);
  }
  std::sort(out.begin(), out.end(),
            [](const key_record& a, const key_record& b) { return a.key < b.key; });
  return out;
}

std::string debug_digest(key_router& target) {
  const auto shards = target.shard_clients();
  if (shards.size() == 1) {
    return shards.front()->checked({"DEBUG", "DIGEST"}).str;
  }
  const std::string zeros(40, '0');
  unsigned char seed[20] = {};
  unsigned int seed_size = 0;
  const unsigned char zero_bytes[20] = {};
  if (EVP_Digest(zero_bytes, sizeof zero_bytes, seed, &seed_size, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("keyspace: SHA1 failed");
  }
  unsigned char combined[20] = {};
  bool any = false;
  for (sync_client* shard : shards) {
    const std::string hex = shard->checked({"DEBUG", "DIGEST"}).str;
    if (hex == zeros) {
      continue;  // an empty db contributes nothing, not even the seed
    }
    any = true;
    for (std::size_t i = 0; i < 20; ++i) {
      const auto byte = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
      combined[i] ^= byte ^ seed[i];
    }
  }
  if (!any) {
    return std::string(40, '0');
  }
  std::string out;
  for (std::size_t i = 0; i < 20; ++i) {
    out += fmt::format("{:02x}", combined[i] ^ seed[i]);
  }
  return out;
}

std::string diff_keyspaces(const keyspace& expected, const keyspace& actual,
                           std::size_t max_differences) {
  std::vector<std::string> lines;
  std::size_t total = 0;
  const auto note = [&](std::string line) {
    ++total;
    if (lines.size() < max_differences) {
      lines.push_back(std::move(line));
    }
  };
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < expected.size() || j < actual.size()) {
    if (j == actual.size() || (i < expected.size() && expected[i].key < actual[j].key)) {
      note(fmt::format("missing: \"{}\" ({})", printable(expected[i].key), expected[i].type));
      ++i;
    } else if (i == expected.size() || actual[j].key < expected[i].key) {
      note(fmt::format("extra: \"{}\" ({})", printable(actual[j].key), actual[j].type));
      ++j;
    } else {
      const key_record& a = expected[i++];
      const key_record& b = actual[j++];
      const std::string name = printable(a.key);
      if (a.type != b.type) {
        note(fmt::format("type of \"{}\": expected {}, actual {}", name, a.type, b.type));
      } else if (a.value != b.value) {
        std::size_t k = 0;
        while (k < a.value.size() && k < b.value.size() && a.value[k] == b.value[k]) {
          ++k;
        }
        note(
            fmt::format("value of \"{}\" ({}, {} vs {} items) differs at item {}: expected "
                        "\"{}\", actual \"{}\"",
                        name, a.type, a.value.size(), b.value.size(), k,
                        k < a.value.size() ? printable(a.value[k]) : "(none)",
                        k < b.value.size() ? printable(b.value[k]) : "(none)"));
      }
      if (a.expire_at_ms != b.expire_at_ms) {
        note(fmt::format("expiry of \"{}\": expected {}, actual {}", name, a.expire_at_ms,
                         b.expire_at_ms));
      }
    }
  }
  if (total == 0) {
    return {};
  }
  std::string out = fmt::format("{} difference(s) between {} expected and {} actual keys:\n", total,
                                expected.size(), actual.size());
  for (const auto& line : lines) {
    out += "  " + line + "\n";
  }
  if (total > lines.size()) {
    out += fmt::format("  ... and {} more\n", total - lines.size());
  }
  return out;
}

}  // namespace ferry::testing
