#include "engine/copy/function_copy.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using protocol::reply;

namespace {

const char* restore_policy(function_policy policy) {
  switch (policy) {
    case function_policy::replace:
      return "REPLACE";
    case function_policy::flush:
      return "FLUSH";
    default:
      return "APPEND";
  }
}

protocol::failure refused(const std::string& node, std::string_view command, const reply& r) {
  const errc kind = protocol::classify_error_reply(r.text());
  std::string advice = protocol::refusal_advice(kind, r.text());
  if (r.text().find("already exists") != std::string_view::npos) {
    advice =
        "; the target already holds a function library of that name: give --functions replace "
        "(replace the target's libraries of the same names) or --functions flush (delete every "
        "library on the target first), or --functions skip";
  }
  return fail_with(kind, fmt::format("copying function libraries: target {} refused {}: {}{}", node,
                                     command, r.text(), advice));
}

struct source_libraries {
  std::vector<function_library> libraries;
  protocol::bytes dump;
};

asio::awaitable<maybe<source_libraries>> read_source(const inspected_sides& sides, tuning tune) {
  auto executor = co_await asio::this_coro::executor;
  const protocol::topology& map = sides.source_facts.map;
  protocol::connection_options options = sides.source;
  if (map.is_cluster() && !map.masters().empty()) {
    const auto& first = map.masters().front().where;
    options = protocol::at_node(options, first.host, first.port);
  }
  options.connect_timeout = tune.connect_timeout;
  options.io_timeout = tune.io_timeout;
  protocol::connection node(executor, options);
  if (auto ec = co_await node.connect()) {
    co_return fail_with(
        errc::connect_failed,
        fmt::format("reading the source's function libraries: {}", node.last_error()));
  }
  protocol::command_buffer commands;
  commands.push({"FUNCTION", "LIST", "WITHCODE"});
  commands.push({"FUNCTION", "DUMP"});
  std::vector<reply> replies;
  if (auto ec = co_await node.exec(commands, replies)) {
    co_return fail_with(
        errc::connection_closed,
        fmt::format("reading the source's function libraries: {}", node.last_error()));
  }
  source_libraries out;
  if (replies[0].is_error()) {
    const errc kind = protocol::classify_error_reply(replies[0].text());
    if (kind == errc::unknown_command) co_return out;  // before Redis 7: no functions
    co_return fail_with(
        kind, fmt::format("the source {} refused FUNCTION LIST: {}{}", node.where().address(),
                          replies[0].text(), protocol::refusal_advice(kind, replies[0].text())));
  }
  out.libraries = libraries_of(replies[0]);
  if (!replies[1].is_error()) out.dump = replies[1].str;
  co_return out;
}

asio::awaitable<maybe<function_copy_result>> copy_all(const inspected_sides& sides,
                                                      function_policy policy, tuning tune) {
  function_copy_result result;
  auto source = co_await read_source(sides, tune);
  if (!source) co_return source.error();
  result.libraries = source->libraries.size();
  if (source->libraries.empty() || policy == function_policy::skip) co_return result;
  // Blocking on a private io_context of its own; nothing else runs on this one meanwhile.
  auto targets = read_functions(sides.target, sides.target_facts.map, tune, "target");
  if (!targets) co_return targets.error();
  auto executor = co_await asio::this_coro::executor;
  const protocol::topology& map = sides.target_facts.map;
  for (std::size_t m = 0; m < map.masters().size(); ++m) {
    const master_functions& held = (*targets)[m];
    if (!held.supported) {
      result.warnings.push_back(fmt::format(
          "the source holds {} function librar{} but the target {} has no functions (Redis "
          "before 7): they were not copied; load them on a Redis 7 target",
          result.libraries, result.libraries == 1 ? "y" : "ies", held.node));
      co_return result;
    }
    if (held.libraries == source->libraries) continue;  // already there (a resumed job)
    const auto& where = map.masters()[m].where;
    protocol::connection_options options = sides.target;
    if (map.is_cluster()) options = protocol::at_node(options, where.host, where.port);
    protocol::connection node(executor, options);
    if (auto ec = co_await node.connect()) {
      co_return fail_with(errc::connect_failed,
                          fmt::format("copying function libraries: {}", node.last_error()));
    }
    std::vector<reply> replies;
    protocol::command_buffer restore;
    if (!source->dump.empty()) {
      restore.begin(4);
      restore.arg("FUNCTION");
      restore.arg("RESTORE");
      restore.arg_ref(source->dump);
      restore.arg(restore_policy(policy));
    }
    if (auto ec = co_await node.exec(restore, replies)) {
      co_return fail_with(errc::connection_closed,
                          fmt::format("copying function libraries: {}", node.last_error()));
    }
    const bool restored = !replies.empty() && !replies[0].is_error();
    if (!restored && !replies.empty() &&
        protocol::classify_error_reply(replies[0].text()) != errc::bad_payload) {
      co_return refused(held.node, "FUNCTION RESTORE", replies[0]);
    }
    if (!restored) {
      // An older target cannot read the dump's RDB version: the code itself it can.
      protocol::command_buffer load;
      if (policy == function_policy::flush) load.push({"FUNCTION", "FLUSH"});
      for (const auto& library : source->libraries) {
        if (policy == function_policy::append) {
          load.push({"FUNCTION", "LOAD", library.code});
        } else {
          load.push({"FUNCTION", "LOAD", "REPLACE", library.code});
        }
      }
      if (auto ec = co_await node.exec(load, replies)) {
        co_return fail_with(errc::connection_closed,
                            fmt::format("copying function libraries: {}", node.last_error()));
      }
      for (const reply& r : replies) {
        if (r.is_error()) co_return refused(held.node, "FUNCTION LOAD", r);
      }
    }
    ++result.masters_written;
  }
  co_return result;
}

}  // namespace

maybe<function_copy_result> copy_functions(const inspected_sides& sides, function_policy policy,
                                           const tuning& tune) {
  return run_blocking(copy_all(sides, policy, tune));
}

}  // namespace ferry::engine
