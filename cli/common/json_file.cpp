#include "cli/common/json_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ferry::cli {

boost::system::result<void, std::string> write_json_file(const std::string& path,
                                                         const nlohmann::json& json) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    // A server's error text may quote a key's or payload's bytes (RESTORE's "with args
    // beginning with: ..."), which need not be UTF-8: replaced (U+FFFD), never an exception that
    // loses the report.
    out << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out.flush();
    if (!out) return fmt::format("cannot write '{}': {}", temp, std::strerror(errno));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return fmt::format("cannot rename '{}' to '{}': {}", temp, path, std::strerror(errno));
  }
  return {};
}

boost::system::result<void, std::string> check_writable(const std::string& path,
                                                        std::string_view flag) {
  if (path.empty()) return {};
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path file(path);
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    return fmt::format("{} {}: the directory '{}' does not exist; create it or choose another path",
                       flag, path, dir.string());
  }
  if (fs::exists(file, ec)) {
    if (fs::is_directory(file, ec)) {
      return fmt::format("{} {}: that is a directory; give a file name", flag, path);
    }
    if (::access(path.c_str(), W_OK) != 0) {
      return fmt::format("{} {}: the file cannot be written ({}); choose another path", flag, path,
                         std::strerror(errno));
    }
  }
  // A file of ferry's own beside it: the directory must take new files (temporary file, rename).
  const fs::path probe = dir / fmt::format(".ferry-check-{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fmt::format("{} {}: cannot create files in '{}' ({}); choose another path", flag, path,
                       dir.string(), std::strerror(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

}  // namespace ferry::cli
