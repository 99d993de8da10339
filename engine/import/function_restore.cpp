#include "engine/import/function_restore.hpp"

#include <fmt/format.h>

#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
namespace rdb = protocol::rdb;

namespace {

void put_length(std::string& out, std::uint64_t n) {
  if (n < (1u << 6)) {
    out.push_back(static_cast<char>(n));
  } else if (n < (1u << 14)) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

/// The library's name, from its shebang line ("#!lua name=mylib"), for messages.
std::string library_name(std::string_view code) {
  const auto line = code.substr(0, code.find('\n'));
  const auto at = line.find("name=");
  if (at == std::string_view::npos) return "(unnamed)";
  const auto name = line.substr(at + 5);
  return std::string(name.substr(0, name.find(' ')));
}

}  // namespace

std::string function_payload(std::string_view code, std::uint16_t version) {
  std::string body(1, static_cast<char>(rdb::opcode::function2));
  put_length(body, code.size());
  body.append(code);
  rdb::append_trailer(body, version);
  return body;
}

function_restorer::function_restorer(asio::any_io_executor executor,
                                     protocol::connection_options seed,
                                     const protocol::topology& map, std::uint16_t version,
                                     bool replace, const tuning& tune, job_control& control)
    : version_(version), replace_(replace) {
  for (const auto& master : map.masters()) {
    masters_.push_back(std::make_unique<link>(
        executor, protocol::at_node(seed, master.where.host, master.where.port), tune, control));
  }
}

function_restorer::~function_restorer() = default;

asio::awaitable<maybe<bool>> function_restorer::restore(std::string_view code) {
  if (unsupported_) co_return false;
  const std::string name = library_name(code);
  protocol::command_buffer commands;
  commands.begin(4);
  commands.arg("FUNCTION");
  commands.arg("RESTORE");
  commands.arg(function_payload(code, version_));
  commands.arg(replace_ ? "REPLACE" : "APPEND");
  std::vector<protocol::reply> replies;
  bool all = true;
  for (auto& master : masters_) {
    // FUNCTION RESTORE ... REPLACE or APPEND of the same library may safely run twice.
    if (auto done = co_await master->exec(commands, replies); !done) {
      co_return protocol::failure{
          done.error().code, fmt::format("restoring function library '{}' on target {}: {}", name,
                                         master->address(), done.error().message)};
    }
    const protocol::reply& answer = replies.front();
    if (!answer.is_error()) continue;
    all = false;
    const std::string text(answer.text());
    const protocol::errc kind = protocol::classify_error_reply(text);
    if (kind == protocol::errc::unknown_command) {
      unsupported_ = true;
      warnings_.push_back(fmt::format(
          "the target {} has no functions (Redis 7.0 added them): the file's function libraries "
          "were not restored; load them by hand on a server that has them, or rewrite them as "
          "scripts",
          master->address()));
      co_return false;
    }
    warnings_.push_back(fmt::format(
        "function library '{}' was not restored on target {}: {}{}", name, master->address(), text,
        text.find("already exists") != std::string::npos
            ? " (the target has a library of that name: add --on-existing replace to overwrite "
              "it)"
            : ""));
  }
  co_return all;
}

}  // namespace ferry::engine
