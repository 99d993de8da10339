#include "tests/support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace ferry::testing {

temp_dir::temp_dir(std::string_view label) {
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path root = (base != nullptr && *base != '\0') ? base : "/tmp";
  std::string pattern = (root / "ferry-test-").string();
  if (!label.empty()) {
    pattern.append(label).push_back('-');
  }
  pattern += "XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = buffer.data();
}

temp_dir::~temp_dir() { remove(); }

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void temp_dir::remove() noexcept {
  const char* keep = std::getenv("FERRY_KEEP_TEST_DIRS");
  if (path_.empty() || (keep != nullptr && *keep != '\0' && *keep != '0')) {
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace ferry::testing
