#pragma once
// What the `ferry sync` integration tests share: writers that change the source with commands of
// every kind while ferry runs (strings, hashes, lists, sets, sorted sets, streams with consumer
// groups, DEL/UNLINK, EXPIRE/PERSIST, keys expiring, RENAME, COPY, MOVE, RESTORE, XACK/XCLAIM),
// the usual `ferry sync` arguments, and waiting on ferry's state file.
//
// Writers use the harness's independent client, so the oracle (tests/support/keyspace) judges a
// target written by ferry against a source written by something that is not ferry.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// Threads that write to the source until stopped (see the file comment).
class source_writers {
 public:
  /// What the writers may do.
  struct options {
    /// Writer threads.
    int threads = 2;
    /// Seeds their choices (thread t uses seed + t).
    std::uint64_t seed = 1;
    /// A cluster: no MOVE (one database), multi-key commands within a hash tag.
    bool cluster = false;
    /// Keys expiring within a second (off where the oracle could see them half-expired).
    bool short_ttls = true;
    /// Pause between pipelines, per thread (bounds the write rate on a shared machine).
    std::chrono::microseconds pause{2'000};
    /// Distinct hash tags the keys are spread over.
    int tags = 300;
  };

  /// Starts the threads; `make` makes each thread's client.
  source_writers(std::function<std::unique_ptr<key_router>()> make, options o) : options_(o) {
    for (int t = 0; t < o.threads; ++t) {
      threads_.emplace_back([this, make, t] { run(make, static_cast<std::uint64_t>(t)); });
    }
  }
  ~source_writers() { stop(); }
  source_writers(const source_writers&) = delete;
  source_writers& operator=(const source_writers&) = delete;

  /// Stops and joins the threads.
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  /// Commands sent so far.
  std::uint64_t ops() const { return ops_; }
  /// The first failure of a writer (a lost connection), empty when none.
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  using command = std::vector<std::string>;

  void run(const std::function<std::unique_ptr<key_router>()>& make, std::uint64_t t) {
    try {
      auto client = make();
      std::mt19937_64 rng(options_.seed * 1000 + t);
      std::vector<command> batch;
      std::vector<std::string> pending_ids;  // stream entries read by a group, to XACK/XCLAIM
      std::string payload;                   // a DUMP to RESTORE elsewhere
      while (!stop_) {
        batch.clear();
        for (int i = 0; i < 8; ++i) batch.push_back(next(rng, pending_ids, payload));
        const auto replies = client->pipeline_keyed(batch);
        ops_ += batch.size();
        for (std::size_t i = 0; i < batch.size(); ++i)
          learn(batch[i], replies[i], pending_ids, payload);
        std::this_thread::sleep_for(options_.pause);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      if (error_.empty()) error_ = e.what();
    }
  }

  /// What a reply teaches the next commands: entry ids delivered to a consumer, a payload.
  static void learn(const command& sent, const reply& answer, std::vector<std::string>& ids,
                    std::string& payload) {
    if (sent[0] == "XREADGROUP" && answer.kind == reply_kind::array) {
      for (const auto& stream : answer.elements) {
        if (stream.elements.size() != 2) continue;
        for (const auto& entry : stream.elements[1].elements) {
          if (!entry.elements.empty() && ids.size() < 64) ids.push_back(entry.elements[0].str);
        }
      }
    }
    if (sent[0] == "DUMP" && answer.kind == reply_kind::string) payload = answer.str;
  }

  command next(std::mt19937_64& rng, std::vector<std::string>& ids, const std::string& payload) {
    const auto pick = [&](int n) {
      return static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    };
    const std::string tag = "live:{" + std::to_string(pick(options_.tags)) + "}:";
    const std::string value = "v" + std::to_string(rng() % 100000);
    const auto later = std::to_string(now_ms() + 1'200'000 + pick(600'000));  // 20-30 min
    switch (pick(40)) {
      case 0:
        return {"SET", tag + "s", value};
      case 1:
        return {"SET", tag + "s", value, "PXAT", later};
      case 2:
        return {"INCR", tag + "n"};
      case 3:
        return {"APPEND", tag + "s", value};
      case 4:
        return {"DEL", tag + "s"};
      case 5:
        return {"UNLINK", tag + "h"};
      case 6:
        return {"PEXPIREAT", tag + "h", later};
      case 7:
        return {"PERSIST", tag + "h"};
      case 8:
        return {"HSET", tag + "h", "f" + std::to_string(pick(20)), value};
      case 9:
        return {"HDEL", tag + "h", "f" + std::to_string(pick(20))};
      case 10:
        return {"HINCRBY", tag + "h", "count", "1"};
      case 11:
        return {"RPUSH", tag + "l", value, value};
      case 12:
        return {"LPOP", tag + "l"};
      case 13:
        return {"LMOVE", tag + "l", tag + "l2", "LEFT", "RIGHT"};
      case 14:
        return {"SADD", tag + "set", value};
      case 15:
        return {"SREM", tag + "set", value};
      case 16:
        return {"SPOP", tag + "set"};
      case 17:
        return {"ZADD", tag + "z", std::to_string(pick(1000)), value};
      case 18:
        return {"ZINCRBY", tag + "z", "2.5", value};
      case 19:
        return {"ZREM", tag + "z", value};
      case 20:
        return {"XADD", tag + "x", "*", "f", value};
      case 21:
        return {"XADD", tag + "x", "MAXLEN", "~", "40", "*", "g", value};
      case 22:
        return {"XTRIM", tag + "x", "MAXLEN", "30"};
      case 23:
        return {"XGROUP", "CREATE", tag + "x", "g", "0", "MKSTREAM"};
      case 24:
        return {"XREADGROUP", "GROUP",   "g", "c" + std::to_string(pick(3)), "COUNT", "3",
                "STREAMS",    tag + "x", ">"};
      case 25:
      case 26: {
        if (ids.empty()) return {"XLEN", tag + "x"};
        const std::string id = ids[rng() % ids.size()];
        // The id belongs to some tag's stream; on another it acks or deletes nothing.
        if (pick(3) == 0) return {"XDEL", tag + "x", id};
        return {"XACK", tag + "x", "g", id};
      }
      case 27: {
        if (ids.empty()) return {"XLEN", tag + "x"};
        return {"XCLAIM", tag + "x", "g", "c9", "0", ids[rng() % ids.size()]};
      }
      case 28:
        return {"XAUTOCLAIM", tag + "x", "g", "c8", "0", "0-0", "COUNT", "2"};
      case 29:
        return {"XGROUP", "CREATECONSUMER", tag + "x", "g", "c" + std::to_string(pick(5))};
      case 30:
        return {"RENAME", tag + "s", tag + "r"};
      case 31:
        return {"COPY", tag + "h", tag + "hc", "REPLACE"};
      case 32:
        return {"DUMP", tag + "z"};
      case 33:
        if (payload.empty()) return {"EXISTS", tag + "z"};
        return {"RESTORE", tag + "restored", "0", payload, "REPLACE"};
      case 34:
        if (!options_.short_ttls) return {"SET", tag + "e", value, "PXAT", later};
        return {"SET", tag + "e", value, "PX", std::to_string(50 + pick(400))};
      case 35:
        if (!options_.short_ttls) return {"EXPIRE", tag + "n", "1800"};
        return {"PEXPIRE", tag + "n", std::to_string(100 + pick(400))};
      case 36:
        return {"GETDEL", tag + "r"};
      case 37:
        return {"INCR", "live:{hot}:counter"};  // one key written again and again
      case 38:
        // A key that leaves the database (move_from); another database than the one synced.
        if (options_.cluster) return {"SETRANGE", tag + "s", "1", value};
        return {"MOVE", tag + "r", "1"};
      default:
        return {"ZADD", tag + "z2", "1", value};
    }
  }

  static std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

  options options_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ops_{0};
  mutable std::mutex mutex_;
  std::string error_;
  std::vector<std::thread> threads_;
};

/// Polls `done` every 50 ms until it is true or `timeout` passes; true when it became true.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return done();
}

/// The `extension` part of ferry's state file (the sync's shards, phases, gaps); null when the
/// file is absent or half-written.
inline nlohmann::json sync_state(const std::filesystem::path& state) {
  try {
    if (!std::filesystem::exists(state)) return nullptr;
    const auto json = read_json(state);
    return json.contains("extension") ? json["extension"] : nlohmann::json(nullptr);
  } catch (const std::exception&) {
    return nullptr;
  }
}

/// True once every shard of the sync in `state` streams (its snapshot is done).
inline bool snapshot_done(const std::filesystem::path& state) {
  const auto sync = sync_state(state);
  if (!sync.is_object() || sync["shards"].empty()) return false;
  for (const auto& shard : sync["shards"]) {
    if (shard["phase"] == "snapshot") return false;
  }
  return true;
}

/// Every gap cause named in a sync report.
inline std::vector<std::string> gap_causes(const nlohmann::json& report) {
  std::vector<std::string> causes;
  for (const auto& gap : report["sync"]["gaps"]) causes.push_back(gap["cause"]);
  return causes;
}

}  // namespace ferry::testing
