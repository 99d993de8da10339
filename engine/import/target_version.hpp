#pragma once
// Which DUMP payloads a target takes as they are: its RDB version, learned once from INFO server,
// and what to do with a payload of a file's version. Pure.
//
// RESTORE refuses a payload whose version is newer than the server's own, even when it reads the
// value perfectly well; protocol/rdb's `downgrade_payload` rewrites the trailer where that is
// exact. Everything else is struct mode's (type commands from the file's decoded value: see
// import_feed.hpp and struct_writer.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::engine {

/// The RDB version of the server whose `INFO server` text is `info` (Redis by redis_version,
/// Valkey by valkey_version): the newest payload version its RESTORE accepts. Nothing when the
/// server is newer than ferry knows (or hides its version): payloads are then sent as they are.
std::optional<std::uint16_t> server_rdb_version(std::string_view info);

/// "Redis 7.0.15", "Valkey 8.0.1", from INFO server, for messages; "an unknown server" when it
/// says nothing.
std::string server_description(std::string_view info);

}  // namespace ferry::engine
