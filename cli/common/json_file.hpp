#pragma once
// Report files: written whole or not at all.

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace ferry::cli {

/// Writes `json` to `path` (via a temporary file and a rename, so it is whole or absent).
boost::system::result<void, std::string> write_json_file(const std::string& path,
                                                         const nlohmann::json& json);

}  // namespace ferry::cli
