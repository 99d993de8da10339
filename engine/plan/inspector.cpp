#include "engine/plan/inspector.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::engine {
namespace {

using protocol::reply;

const std::vector<std::string> config_parameters = {
    "notify-keyspace-events",  "client-output-buffer-limit", "proto-max-bulk-len", "databases",
    "stream-node-max-entries", "stream-node-max-bytes"};

std::string text_of(const reply& r) { return std::string(r.text()); }

/// Library names of a FUNCTION LIST reply (an array of [library_name, NAME, engine, ...]).
std::vector<std::string> library_names(const reply& list) {
  std::vector<std::string> names;
  for (const auto& library : list.elements) {
    for (std::size_t i = 0; i + 1 < library.elements.size(); i += 2) {
      if (library.elements[i].text() == "library_name") {
        names.push_back(text_of(library.elements[i + 1]));
        break;
      }
    }
  }
  return names;
}

/// User names of an ACL LIST reply ("user NAME on ...").
std::vector<std::string> user_names(const reply& list) {
  std::vector<std::string> names;
  for (const auto& line : list.elements) {
    const std::string_view text = line.text();
    if (text.substr(0, 5) != "user ") continue;
    const auto end = text.find(' ', 5);
    names.emplace_back(text.substr(5, end == std::string_view::npos ? text.npos : end - 5));
  }
  return names;
}

/// The name ACL DRYRUN's refusal uses ("client|setname").
std::string permission_name(const std::vector<std::string>& command) {
  static const std::vector<std::string> containers = {"client", "cluster", "config"};
  std::string name = command.front();
  if (command.size() > 1 &&
      std::find(containers.begin(), containers.end(), name) != containers.end()) {
    name += '|' + command[1];
  }
  return name;
}

boost::asio::awaitable<outcome> check_permissions(node_session& session,
                                                  const inspect_request& request,
                                                  protocol::server_version version,
                                                  permission_check& check) {
  std::vector<std::string> whoami{"ACL", "WHOAMI"};  // a named temporary: GCC 12 coroutines
  auto who = co_await session.one(std::move(whoami));
  if (!who) co_return who.error();
  if (who->is_error()) {
    check.note =
        fmt::format("ACL WHOAMI refused ({}): ferry's permissions were not checked", who->text());
    co_return outcome{};
  }
  check.user = text_of(*who);
  const auto commands = needed_commands(request, version);
  std::vector<std::vector<std::string>> dry;
  for (const auto& command : commands) {
    std::vector<std::string> argv{"ACL", "DRYRUN", check.user};
    argv.insert(argv.end(), command.begin(), command.end());
    dry.push_back(std::move(argv));
  }
  auto replies = co_await session.run(dry);
  if (!replies) co_return replies.error();
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const reply& r = (*replies)[i];
    if (r.kind == protocol::reply_kind::status && r.text() == "OK") continue;
    const std::string_view text = r.text();
    if (r.is_error() && text.find("not found") == std::string_view::npos) {
      // ACL DRYRUN itself refused or unknown (Redis < 7, a managed service, no +acl|dryrun).
      check.missing.clear();
      check.note =
          fmt::format("ACL DRYRUN refused ({}): ferry's permissions were not checked", text);
      co_return outcome{};
    }
    check.missing.push_back(permission_name(commands[i]) +
                            (r.is_error() ? std::string(" (no such command)") : std::string()));
  }
  check.checked = true;
  co_return outcome{};
}

}  // namespace

std::vector<std::vector<std::string>> needed_commands(const inspect_request& request,
                                                      protocol::server_version version) {
  std::vector<std::vector<std::string>> commands = {
      {"ping"}, {"client", "setname", "ferry"}, {"info"}, {"dbsize"}};
  if (request.db != 0) commands.push_back({"select", std::to_string(request.db)});
  if (request.cluster) {
    commands.push_back(version.major >= 7 ? std::vector<std::string>{"cluster", "shards"}
                                          : std::vector<std::string>{"cluster", "slots"});
  }
  if (request.source) {
    commands.push_back({"scan", "0"});
    commands.push_back({"dump", "k"});
    commands.push_back(version.major >= 7 ? std::vector<std::string>{"pexpiretime", "k"}
                                          : std::vector<std::string>{"pttl", "k"});
  } else {
    commands.push_back({"restore", "k", "0", "x"});
    commands.push_back({"dump", "k"});
    commands.push_back({"del", "k"});
    if (request.cluster) commands.push_back({"asking"});
  }
  return commands;
}

boost::asio::awaitable<maybe<node_info>> read_info(node_session& session) {
  std::vector<std::string> command{"INFO", "all"};
  auto info = co_await session.one(std::move(command));
  if (!info) co_return info.error();
  if (info->is_error()) {
    co_return fail_with(protocol::classify_error_reply(info->text()),
                        fmt::format("the {} {} refused INFO: {}; ferry needs +info", session.role(),
                                    session.address(), info->text()));
  }
  co_return parse_node_info(info->text());
}

boost::asio::awaitable<maybe<node_report>> inspect_node(node_session& session,
                                                        const inspect_request& request) {
  node_report node;
  node.address = session.address();
  auto info = co_await read_info(session);
  if (!info) co_return info.error();
  node.info = std::move(*info);
  const protocol::server_version version = node.info.version;

  std::vector<std::vector<std::string>> commands = {{"DBSIZE"}};
  for (const auto& parameter : config_parameters) commands.push_back({"CONFIG", "GET", parameter});
  commands.push_back({"ACL", "LIST"});
  const bool functions = version.major >= 7;
  if (functions) commands.push_back({"FUNCTION", "LIST"});
  if (!request.source) commands.push_back({"COMMAND", "INFO", "RESTORE"});
  auto replies = co_await session.run(commands);
  if (!replies) co_return replies.error();
  std::size_t at = 0;
  const reply& dbsize = (*replies)[at++];
  node.dbsize = dbsize.is_error()
                    ? node.info.keys_in(request.db)
                    : static_cast<std::uint64_t>(std::max<std::int64_t>(dbsize.integer, 0));
  for (const auto& parameter : config_parameters) {
    const reply& r = (*replies)[at++];
    config_value value;
    if (r.is_error()) {
      value.refusal = text_of(r);
    } else if (r.elements.size() < 2) {
      value.refusal = "unknown to this server";
    } else {
      value.known = true;
      value.value = text_of(r.elements[1]);
    }
    node.config[parameter] = std::move(value);
  }
  if (const reply& acl = (*replies)[at++]; !acl.is_error()) node.acl_users = user_names(acl);
  if (functions) {
    const reply& list = (*replies)[at++];
    if (list.is_error()) {
      node.functions_note = fmt::format("FUNCTION LIST refused: {}", list.text());
    } else {
      node.function_libraries = library_names(list);
    }
  }
  if (!request.source) {
    const reply& restore = (*replies)[at++];
    if (!restore.is_error()) {
      node.restore_available = !restore.elements.empty() && !restore.elements.front().is_nil();
    }
  }
  if (version.major >= 6) {
    if (auto checked = co_await check_permissions(session, request, version, node.permissions);
        !checked) {
      co_return checked.error();
    }
  } else {
    node.permissions.note = "Redis < 6 has no ACL: every client may run everything";
    node.permissions.checked = true;
  }
  co_return node;
}

traffic_window traffic_between(const node_info& before, const node_info& after, double seconds,
                               std::uint64_t ferry_sent, std::uint64_t ferry_reads) {
  traffic_window w;
  w.seconds = seconds;
  const auto less = [](std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; };
  w.commands = less(less(after.total_commands, before.total_commands), ferry_sent);
  const command_mix mix = mix_of(command_delta(before.commands, after.commands));
  w.writes = mix.writes;
  w.reads = less(mix.reads, ferry_reads);
  w.cpu_seconds = std::max(0.0, after.cpu_seconds - before.cpu_seconds);
  w.net_input_bytes = less(after.net_input_bytes, before.net_input_bytes);
  w.net_output_bytes = less(after.net_output_bytes, before.net_output_bytes);
  return w;
}

}  // namespace ferry::engine
