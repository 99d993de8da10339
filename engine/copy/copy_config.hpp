#pragma once
// What a copy job is asked to do: its whole input, filled by the CLI or by tests.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/copy/slot_split.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/inline_settings.hpp"
#include "protocol/wire/slots.hpp"

namespace ferry::engine {

class copy_extension;

/// What to do with a key that already exists on the target.
enum class existing_policy {
  unset,    ///< none given: refuse to start when the target holds keys
  fail,     ///< record the key as failed and leave the target's value
  skip,     ///< count the key as skipped and leave the target's value
  replace,  ///< overwrite it (RESTORE ... REPLACE)
};

/// What to do when a target node restarts (or fails over) and may have lost keys the job wrote.
enum class target_loss_policy {
  stop,    ///< stop with a message; the state file points back to what the target still holds
  recopy,  ///< go back to what the target still holds and copy the rest again, without stopping
};

/// What to do about function libraries (--functions).
enum class function_policy {
  append,   ///< copy them; a library of the same name already on the target stops the job
  replace,  ///< copy them, replacing target libraries of the same names
  flush,    ///< delete every library on the target first, then copy
  skip,     ///< do not copy functions
};

/// A `ferry copy` job.
struct copy_config {
  /// Where keys come from.
  side source;
  /// Where keys go.
  side target;
  /// SCAN MATCH pattern; empty for all keys.
  std::string match;
  /// SCAN TYPE filter (string, list, set, zset, hash, stream); empty for all types.
  std::string type;
  /// Only keys whose hash slot is in this range (also on a standalone source).
  std::optional<protocol::slot_range> slots;
  /// One part of a migration split over several processes (--shard-index/--shard-count): only
  /// the slots split_slots() gives this part, within `slots`.
  std::optional<slot_part> part;
  /// Keys that exist on the target.
  existing_policy existing = existing_policy::unset;
  /// JSON-lines file for keys that could not be copied; empty for none.
  std::string failed_keys_path;
  /// Performance settings.
  tuning tune;
  /// Rate limits, replicas and latency-driven slow-down.
  source_protection protect;
  /// State file and resume.
  checkpointing state;
  /// The inline verifier.
  inline_verification verify;
  /// A target that lost keys.
  target_loss_policy on_target_loss = target_loss_policy::stop;
  /// The source's other databases are meant to stay behind: keys there do not make the job
  /// incomplete (they are still reported).
  bool ignore_other_dbs = false;
  /// Read strings with GET and write them with SET ... PXAT where the target has it (Redis >=
  /// 6.2), which costs the source less than DUMP; false: DUMP and RESTORE every key.
  bool string_reads = true;
  /// Leave out each key's expiry command where INFO proves the source's database has no key
  /// with an expiry (expiry_probe.hpp); false: ask every key's expiry (--expiry-reads per-key).
  bool expiry_probe = true;
  /// What a job built on the copy adds to it (`ferry sync`; copy_extension.hpp); null for a copy.
  /// Not owned.
  copy_extension* extension = nullptr;
  /// Keys whose DUMP payload is over this many bytes are never held whole: they are copied in
  /// chunks with type commands (--big-key-bytes).
  std::size_t big_key_bytes = std::size_t{8} << 20;
  /// --mode struct: every key is copied with type commands instead of RESTORE.
  bool force_struct = false;
  /// Function libraries (Redis 7), copied before the keys.
  function_policy functions = function_policy::append;
  /// Told, on the job's thread before the first key, what a person should know before the copy
  /// runs (a source newer than the target, and what ferry does about it); the same text is in
  /// the report's warnings. Null: only the report says it.
  std::function<void(const std::string&)> on_notice;
};

}  // namespace ferry::engine
