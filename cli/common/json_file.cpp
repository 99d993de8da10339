#include "cli/common/json_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace ferry::cli {

boost::system::result<void, std::string> write_json_file(const std::string& path,
                                                         const nlohmann::json& json) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json.dump(2) << '\n';
    out.flush();
    if (!out) return fmt::format("cannot write '{}': {}", temp, std::strerror(errno));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return fmt::format("cannot rename '{}' to '{}': {}", temp, path, std::strerror(errno));
  }
  return {};
}

}  // namespace ferry::cli
