#pragma once
// What the import and export tests share: RDB files made by real servers (BGSAVE), read and
// written as bytes, a library of functions, and the command lines.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/dataset.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// A function library (FUNCTION LOAD's text) for the files the tests make.
inline const std::string test_library =
    "#!lua name=ferrylib\n"
    "redis.register_function('ferry_echo', function(keys, args) return args[1] end)";

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The committed BGSAVE fixture of `version` (tests/data/rdb/<version>/dump.rdb).
inline std::filesystem::path fixture_rdb(const std::string& version) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "rdb" /
         (version.empty() ? std::string("7.0") : version) / "dump.rdb";
}

/// A server of `version` ("" for the default) holding the committed fixture's keys of every type
/// and encoding that version writes (in databases 0 and 1), plus fill_every_type's where the
/// version has its commands (7.0 on), plus `strings` small strings, 20 strings that expire an
/// hour from now, and a function library where the version has functions.
inline std::unique_ptr<redis_server> versioned_source(const std::string& version,
                                                      std::size_t strings = 0) {
  server_options o;
  o.version = version;
  o.rdb_file = fixture_rdb(version);
  auto server = std::make_unique<redis_server>(o);
  sync_client c = server->client();
  if (server->build().has_redis7_commands()) {
    dataset_options d;
    d.key_prefix = "fill:";
    d.count_per_kind = 5;
    d.big_per_kind = 1;
    fill_every_type(c, d);
    c.checked({"FUNCTION", "LOAD", "REPLACE", test_library});
  }
  if (strings != 0) fill_strings(c, strings, 64, 3, "small:");
  // The fixture's own expiries were absolute times a day at most after it was made, long past
  // now: keys that expire an hour from now, so that every version's source has some.
  for (int i = 0; i < 20; ++i) {
    c.checked({"SET", "expiring:" + std::to_string(i), "v", "PX", "3600000"});
  }
  return server;
}

/// DBSIZE of database `db`.
inline std::int64_t keys_in(sync_client& c, int db) {
  c.checked({"SELECT", std::to_string(db)});
  const std::int64_t n = c.checked({"DBSIZE"}).integer;
  c.checked({"SELECT", "0"});
  return n;
}

/// The ferry:mark: keys a job keeps on the target until it completes (engine/topology's
/// target_guard), which DBSIZE counts too.
inline std::int64_t marks_in(sync_client& c) {
  return static_cast<std::int64_t>(c.checked({"KEYS", "ferry:mark:*"}).elements.size());
}

/// A name for a test parameter ("valkey-8.0" -> "valkey_8_0").
inline std::string param_name(std::string n) {
  for (char& c : n) {
    if (c == '.' || c == '-') c = '_';
  }
  return n.empty() ? std::string("default") : n;
}

}  // namespace ferry::testing
