#pragma once
// Output files: reports written whole or not at all, and paths checked before a job starts.

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ferry::cli {

/// Writes `json` to `path` (via a temporary file and a rename, so it is whole or absent).
boost::system::result<void, std::string> write_json_file(const std::string& path,
                                                         const nlohmann::json& json);

/// Checks, before a job touches anything, that the file `path` (named `flag` in messages, e.g.
/// "--report") can be written: its directory exists and takes new files (reports and state
/// files are written next to themselves and renamed), and an existing file is writable. The
/// error names the flag, the path and the reason.
boost::system::result<void, std::string> check_writable(const std::string& path,
                                                        std::string_view flag);

}  // namespace ferry::cli
