#include "tests/support/reply.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace ferry::testing {

std::string printable(std::string_view bytes, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (out.size() >= limit) {
      out += fmt::format("...(+{} bytes)", bytes.size() - i);
      break;
    }
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\0':
        out += "\\0";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string to_string(const reply& value) {
  switch (value.kind) {
    case reply_kind::string:
      return '"' + printable(value.str) + '"';
    case reply_kind::status:
      return printable(value.str);
    case reply_kind::error:
      return "(error) " + printable(value.str);
    case reply_kind::integer:
      return fmt::format("(integer) {}", value.integer);
    case reply_kind::nil:
      return "(nil)";
    case reply_kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.elements.size(); ++i) {
        out += (i == 0 ? "" : ", ") + to_string(value.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

const reply& expect_ok_reply(const reply& value, std::string_view what) {
  if (value.is_error()) {
    throw std::runtime_error(fmt::format("{}: {}", what, value.str));
  }
  return value;
}

}  // namespace ferry::testing
