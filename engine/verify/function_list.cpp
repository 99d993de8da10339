#include "engine/verify/function_list.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <map>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::reply;

namespace {

const reply* field(const reply& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].text() == name) return &flat.elements[i + 1];
  }
  return nullptr;
}

asio::awaitable<maybe<std::vector<master_functions>>> read_all(protocol::connection_options seed,
                                                               protocol::topology map, tuning tune,
                                                               std::string role) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<master_functions> out;
  std::vector<reply> replies;
  for (const auto& master : map.masters()) {
    protocol::connection_options options = seed;
    if (map.is_cluster()) options = protocol::at_node(seed, master.where.host, master.where.port);
    options.connect_timeout = tune.connect_timeout;
    options.io_timeout = tune.io_timeout;
    protocol::connection node(executor, options);
    if (auto ec = co_await node.connect()) {
      co_return fail_with(
          protocol::errc::connect_failed,
          fmt::format("reading the {}'s function libraries: {}", role, node.last_error()));
    }
    protocol::command_buffer list;
    list.push({"FUNCTION", "LIST", "WITHCODE"});
    if (auto ec = co_await node.exec(list, replies)) {
      co_return fail_with(
          protocol::errc::connection_closed,
          fmt::format("reading the {}'s function libraries: {}", role, node.last_error()));
    }
    master_functions found{master.where.address(), true, {}};
    if (replies[0].is_error()) {
      const auto kind = protocol::classify_error_reply(replies[0].text());
      if (kind != protocol::errc::unknown_command) {
        co_return fail_with(kind, fmt::format("the {} {} refused FUNCTION LIST: {}{}", role,
                                              master.where.address(), replies[0].text(),
                                              protocol::refusal_advice(kind, replies[0].text())));
      }
      found.supported = false;  // before Redis 7
    } else {
      found.libraries = libraries_of(replies[0]);
    }
    out.push_back(std::move(found));
  }
  co_return out;
}

}  // namespace

std::vector<function_library> libraries_of(const reply& list) {
  std::vector<function_library> out;
  for (const reply& library : list.elements) {
    const reply* name = field(library, "library_name");
    const reply* engine = field(library, "engine");
    const reply* code = field(library, "library_code");
    if (name == nullptr) continue;
    out.push_back({name->str.str(), engine != nullptr ? engine->str.str() : std::string{},
                   code != nullptr ? code->str.str() : std::string{}});
  }
  std::sort(out.begin(), out.end(),
            [](const function_library& a, const function_library& b) { return a.name < b.name; });
  return out;
}

maybe<std::vector<master_functions>> read_functions(const protocol::connection_options& seed,
                                                    const protocol::topology& map,
                                                    const tuning& tune, const char* role) {
  return run_blocking(read_all(seed, map, tune, role));
}

std::vector<std::pair<std::string, std::string>> function_differences(
    const std::vector<function_library>& source, const std::vector<function_library>& target) {
  std::map<std::string, const function_library*> on_target;
  for (const auto& library : target) on_target[library.name] = &library;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& library : source) {
    const auto it = on_target.find(library.name);
    if (it == on_target.end()) {
      out.emplace_back(library.name, "missing on the target");
      continue;
    }
    if (it->second->engine != library.engine) {
      out.emplace_back(library.name, fmt::format("engine {} on the source, {} on the target",
                                                 library.engine, it->second->engine));
    } else if (it->second->code != library.code) {
      out.emplace_back(library.name, "its code differs");
    }
    on_target.erase(it);
  }
  for (const auto& [name, library] : on_target) out.emplace_back(name, "only on the target");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ferry::engine
