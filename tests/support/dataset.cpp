#include "tests/support/dataset.hpp"

#include <fmt/format.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <vector>

#include "tests/support/cluster_client.hpp"

namespace ferry::testing {
namespace {

using command = std::vector<std::string>;

// splitmix64: tiny, and unlike std:: distributions its output is the same on every platform.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform-enough integer in [low, high].
  std::size_t between(std::size_t low, std::size_t high) { return low + next() % (high - low + 1); }
  /// `size` arbitrary bytes (NUL, CR, LF and 0x80..0xFF included).
  std::string bytes(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
      std::uint64_t word = next();
      for (std::size_t j = i; j < size && j < i + 8; ++j, word >>= 8) {
        out[j] = static_cast<char>(word & 0xff);
      }
    }
    return out;
  }
  /// Short printable token, for members whose shape should look like ordinary data.
  std::string word(std::size_t size) {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(size, 'a');
    for (auto& c : out) {
      c = alphabet[next() % (sizeof alphabet - 1)];
    }
    return out;
  }
  /// A score that round-trips exactly: integers, fractions, negatives, tiny and huge values.
  std::string score() {
    switch (next() % 5) {
      case 0:
        return std::to_string(static_cast<long long>(next() % 100000) - 50000);
      case 1:
        return fmt::format("{}", static_cast<double>(next() % 1000000) / 1024.0);
      case 2:
        return fmt::format("{}", -static_cast<double>(next() % 1000) / 3.0);
      case 3:
        return fmt::format("{}", static_cast<double>(next() >> 11) * 1e-300);
      default:
        return fmt::format("{}", static_cast<double>(next() >> 11) * 1e290);
    }
  }

 private:
  std::uint64_t state_;
};

// Collects commands and sends them in bounded batches, checking every reply.
class writer {
 public:
  writer(key_router& target, generator& gen, const dataset_options& options,
         std::int64_t expiry_base)
      : target_(target), gen_(gen), options_(options), expiry_base_(expiry_base) {}

  void add(command cmd) {
    pending_.push_back(std::move(cmd));
    if (pending_.size() >= 5000) {
      flush();
    }
  }

  // Records a new key and maybe gives it an expiry (after its value commands).
  void finish_key(const std::string& key) {
    keys_.insert(key);
    if (static_cast<double>(gen_.next() % 1000000) < options_.with_expiry_fraction * 1e6) {
      constexpr std::int64_t five_minutes = 5 * 60 * 1000;
      constexpr std::uint64_t spread = 3ULL * 3600 * 1000 - five_minutes;  // up to 3 h ahead
      const auto at = expiry_base_ + five_minutes + static_cast<std::int64_t>(gen_.next() % spread);
      add({"PEXPIREAT", key, std::to_string(at)});
      ++with_expiry_;
    }
  }

  void flush() {
    if (pending_.empty()) {
      return;
    }
    const auto replies = target_.pipeline_keyed(pending_);
    for (std::size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].is_error()) {
        throw std::runtime_error(fmt::format("dataset: {} {} failed: {}", pending_[i][0],
                                             printable(command_key(pending_[i])), replies[i].str));
      }
    }
    pending_.clear();
  }

  fill_result result() const { return {keys_.size(), with_expiry_, expiry_base_}; }

 private:
  key_router& target_;
  generator& gen_;
  const dataset_options& options_;
  std::int64_t expiry_base_;
  std::vector<command> pending_;
  std::set<std::string> keys_;
  std::size_t with_expiry_ = 0;
};

command with_items(command head, std::vector<std::string> items) {
  head.insert(head.end(), std::make_move_iterator(items.begin()),
              std::make_move_iterator(items.end()));
  return head;
}

void write_list(writer& out, generator& gen, const std::string& key, std::size_t n,
                std::size_t item_size) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back(gen.bytes(gen.between(1, item_size)));
  }
  out.add(with_items({"RPUSH", key}, std::move(items)));
}

void write_set(writer& out, generator& gen, const std::string& key, std::size_t n, bool ints) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back(ints ? std::to_string(static_cast<long long>(gen.next() % 2000000) - 1000000)
                         : gen.word(gen.between(1, 12)));
  }
  out.add(with_items({"SADD", key}, std::move(items)));
}

void write_zset(writer& out, generator& gen, const std::string& key, std::size_t n) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back(gen.score());
    items.push_back(gen.bytes(gen.between(1, 16)));
  }
  out.add(with_items({"ZADD", key}, std::move(items)));
}

void write_hash(writer& out, generator& gen, const std::string& key, std::size_t n,
                std::size_t value_size) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back(fmt::format("f{}-{}", i, gen.word(4)));
    items.push_back(gen.bytes(gen.between(value_size / 2 + 1, value_size)));
  }
  out.add(with_items({"HSET", key}, std::move(items)));
}

// Entries with explicit ids (auto ids depend on the clock, so they would not be reproducible).
std::vector<std::string> write_stream(writer& out, generator& gen, const std::string& key,
                                      std::size_t n) {
  std::vector<std::string> ids;
  std::uint64_t ms = 1700000000000ULL + gen.next() % 1000000;
  for (std::size_t i = 0; i < n; ++i) {
    ms += gen.between(0, 2);
    const std::string id = fmt::format("{}-{}", ms, i);
    ids.push_back(id);
    command cmd{"XADD", key, id};
    for (std::size_t f = 0, fields = gen.between(1, 3); f < fields; ++f) {
      cmd.push_back(fmt::format("field{}", f));
      cmd.push_back(gen.bytes(gen.between(0, 24)));
    }
    out.add(std::move(cmd));
  }
  return ids;
}

// Two groups, three consumers, delivered-but-unacked entries, acked ones, and a deleted entry.
void write_stream_with_groups(writer& out, generator& gen, const std::string& key) {
  const auto ids = write_stream(out, gen, key, 50);
  out.add({"XGROUP", "CREATE", key, "g1", "0"});
  out.add({"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", key, ">"});
  out.add({"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", key, ">"});
  out.add({"XACK", key, "g1", ids[0], ids[1]});
  out.add({"XGROUP", "CREATE", key, "g2", ids[10]});
  out.add({"XGROUP", "CREATECONSUMER", key, "g2", "carol"});
  out.add({"XREADGROUP", "GROUP", "g2", "dave", "COUNT", "2", "STREAMS", key, ">"});
  out.add({"XDEL", key, ids[20]});
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

fill_result fill_every_type(key_router& target, const dataset_options& options) {
  generator gen(options.seed);
  writer out(target, gen, options, options.expiry_base_ms != 0 ? options.expiry_base_ms : now_ms());
  const std::string& p = options.key_prefix;
  const auto key = [&](std::string_view kind, std::size_t i) {
    return fmt::format("{}{}:{}", p, kind, i);
  };

  for (std::size_t i = 0; i < options.count_per_kind; ++i) {
    std::string k = key("str:int", i);  // int encoding
    out.add({"SET", k, std::to_string(gen.next() % 1000000000)});
    out.finish_key(k);
    k = key("str:embstr", i);  // <= 44 bytes
    out.add({"SET", k, gen.bytes(gen.between(1, 44))});
    out.finish_key(k);
    k = key("str:raw", i);  // > 44 bytes
    out.add({"SET", k, gen.bytes(gen.between(45, 300))});
    out.finish_key(k);
    k = key("list:listpack", i);
    write_list(out, gen, k, gen.between(1, 10), 20);
    out.finish_key(k);
    k = key("set:intset", i);
    write_set(out, gen, k, gen.between(1, 20), true);
    out.finish_key(k);
    k = key("set:small", i);  // listpack on Redis >= 7.2, hashtable before
    write_set(out, gen, k, gen.between(1, 10), false);
    out.finish_key(k);
    k = key("zset:listpack", i);
    write_zset(out, gen, k, gen.between(1, 10));
    out.finish_key(k);
    k = key("hash:listpack", i);
    write_hash(out, gen, k, gen.between(1, 10), 20);
    out.finish_key(k);
    k = key("stream:small", i);
    write_stream(out, gen, k, gen.between(1, 10));
    out.finish_key(k);
  }
  for (std::size_t i = 0; i < options.big_per_kind; ++i) {
    std::string k = key("str:big", i);
    out.add({"SET", k, gen.bytes(std::size_t{100} * 1024 + gen.between(0, 1000))});
    out.finish_key(k);
    k = key("list:quicklist", i);  // > 128 elements
    write_list(out, gen, k, gen.between(200, 300), 30);
    out.finish_key(k);
    k = key("list:quicklist-large", i);  // elements over the 8 KB listpack node size
    write_list(out, gen, k, 6, 20000);
    out.finish_key(k);
    k = key("set:hashtable", i);
    write_set(out, gen, k, gen.between(200, 300), false);
    out.finish_key(k);
    k = key("set:intset-hashtable", i);  // > 512 integers leaves intset
    write_set(out, gen, k, 600, true);
    out.finish_key(k);
    k = key("zset:skiplist", i);
    write_zset(out, gen, k, gen.between(200, 300));
    out.finish_key(k);
    k = key("hash:hashtable", i);
    write_hash(out, gen, k, gen.between(200, 300), 20);
    out.finish_key(k);
    k = key("hash:long-values", i);  // few fields, values > 64 bytes
    write_hash(out, gen, k, 4, 400);
    out.finish_key(k);
    k = key("stream:groups", i);
    write_stream_with_groups(out, gen, k);
    out.finish_key(k);
  }
  if (options.odd_keys) {
    using namespace std::string_literals;
    if (p.empty()) {
      out.add({"SET", "", "the empty key"});
      out.finish_key("");
    }
    const std::string nul_key = p + "nul\0key"s;
    out.add({"HSET", nul_key, "f\0ield"s, "v\r\nalue"s, "plain", gen.bytes(10)});
    out.finish_key(nul_key);
    const std::string cr_key = p + "cr\rkey";
    write_list(out, gen, cr_key, 3, 10);
    out.finish_key(cr_key);
    const std::string lf_key = p + "lf\nkey";
    write_set(out, gen, lf_key, 3, false);
    out.finish_key(lf_key);
    const std::string space_key = p + "key with spaces";
    write_zset(out, gen, space_key, 3);
    out.finish_key(space_key);
    const std::string invalid_utf8 = p + "\xff\xfe-not-utf8";
    out.add({"SET", invalid_utf8, "\xc3\x28\xa0\xa1"});
    out.finish_key(invalid_utf8);
    for (const char* name : {"{tag}a", "{tag}b", "{tag}list", "x{}y"}) {
      const std::string k = p + name;
      out.add({"SET", k, gen.bytes(12)});
      out.finish_key(k);
    }
  }
  out.flush();
  return out.result();
}

fill_result fill_strings(key_router& target, std::size_t count, std::size_t value_size,
                         std::uint64_t seed, const std::string& key_prefix) {
  generator gen(seed);
  dataset_options options;
  options.with_expiry_fraction = 0;
  writer out(target, gen, options, 0);
  for (std::size_t i = 0; i < count; ++i) {
    std::string k = key_prefix + std::to_string(i);
    out.add({"SET", k, gen.bytes(value_size)});
    out.finish_key(k);
  }
  out.flush();
  return out.result();
}

}  // namespace ferry::testing
