#include "cli/common/secrets.hpp"

#include <cstring>
#include <optional>
#include <utility>

namespace ferry::cli {
namespace {

/// Where the password of the URL starting at `scheme_end` ("://") lies in `text`, as [begin,
/// end), looking no further than `limit`. The last '@' ends the user part and the first ':'
/// ends the user name (as protocol::parse_endpoint reads them); a password holding an unencoded
/// '/' is still covered, because the last '@' is searched past any '/'.
std::optional<std::pair<std::size_t, std::size_t>> password_span(std::string_view text,
                                                                 std::size_t scheme_end,
                                                                 std::size_t limit) {
  const std::size_t begin = scheme_end + 3;
  if (begin >= limit) return std::nullopt;
  const std::string_view rest = text.substr(begin, limit - begin);
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const auto colon = rest.substr(0, at).find(':');
  if (colon == std::string_view::npos || colon + 1 == at) return std::nullopt;
  return std::pair{begin + colon + 1, begin + at};
}

bool ends_url(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '`';
}

}  // namespace

std::vector<std::string> take_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
    char* arg = argv[i];
    const std::string_view text(arg, std::strlen(arg));
    for (auto scheme = text.find("://"); scheme != std::string_view::npos;
         scheme = text.find("://", scheme + 3)) {
      if (auto span = password_span(text, scheme, text.size())) {
        std::memset(arg + span->first, '*', span->second - span->first);
      }
    }
  }
  return args;
}

std::string redact_urls(std::string_view text) {
  std::string out(text);
  for (auto scheme = out.find("://"); scheme != std::string::npos;
       scheme = out.find("://", scheme + 3)) {
    std::size_t end = scheme + 3;
    while (end < out.size() && !ends_url(out[end])) ++end;
    if (auto span = password_span(out, scheme, end)) {
      out.replace(span->first, span->second - span->first, "***");
    }
  }
  return out;
}

}  // namespace ferry::cli
