#include "engine/copy/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "engine/copy/batches.hpp"
#include "engine/runtime/key_text.hpp"

namespace ferry::engine {
namespace {

nlohmann::json counts_json(const counts& c) {
  nlohmann::json j = {
      {"scanned", c.scanned},       {"copied", c.copied},       {"vanished", c.vanished},
      {"skipped", c.skipped},       {"failed", c.failed},       {"bytes", c.bytes},
      {"retries", c.retries},       {"rescanned", c.rescanned}, {"restored", c.restored},
      {"downgraded", c.downgraded}, {"rebuilt", c.rebuilt},     {"changed", c.changed}};
  for (std::size_t i = 1; i < rebuild_reasons; ++i) {
    j[fmt::format("rebuilt_{}", name_of(static_cast<rebuild_reason>(i)))] = c.rebuilt_by[i];
  }
  return j;
}

// A count: an unsigned integer. nlohmann's get<uint64_t> would turn -1 into 2^64 - 1 and 2.5
// into 2, so a damaged state file would resume with made-up counts.
std::uint64_t count_field(const nlohmann::json& j, const char* name, bool required = true) {
  const auto it = j.find(name);
  if (it == j.end() && !required) return 0;
  if (it == j.end()) throw std::invalid_argument(fmt::format("counts: no \"{}\"", name));
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
    throw std::invalid_argument(
        fmt::format("counts: \"{}\" is not a whole number of 0 or more", name));
  }
  return it->get<std::uint64_t>();
}

// A whole number in [low, high] (a version, a slot): nlohmann's get<int> of 1e20 or of 2.5 is
// undefined behaviour or a silent cut (found by the checkpoint fuzzer).
std::int64_t bounded_field(const nlohmann::json& j, const char* name, std::int64_t low,
                           std::int64_t high) {
  const auto& value = j.at(name);
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() &&
       value.get<std::uint64_t>() > static_cast<std::uint64_t>(high))) {
    throw std::invalid_argument(
        fmt::format("\"{}\" is not a whole number from {} to {}", name, low, high));
  }
  const auto number = value.get<std::int64_t>();
  if (number < low || number > high) {
    throw std::invalid_argument(
        fmt::format("\"{}\" is not a whole number from {} to {}", name, low, high));
  }
  return number;
}

// A SCAN cursor as written by to_json: decimal digits only. std::stoull would read "-1" as
// 2^64 - 1 and "12abc" as 12, and the job would resume from a cursor it never committed.
std::uint64_t cursor_field(const std::string& text) {
  std::uint64_t cursor = 0;
  const auto* const last = text.data() + text.size();
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  const auto [end, ec] = std::from_chars(text.data(), last, cursor);
  if (!digits || ec != std::errc{} || end != last) {
    throw std::invalid_argument(
        fmt::format("cursor \"{}\" is not an unsigned 64-bit decimal number", text));
  }
  return cursor;
}

counts counts_from(const nlohmann::json& j) {
  counts c;
  c.scanned = count_field(j, "scanned");
  c.copied = count_field(j, "copied");
  c.vanished = count_field(j, "vanished");
  c.skipped = count_field(j, "skipped");
  c.failed = count_field(j, "failed");
  c.bytes = count_field(j, "bytes");
  c.retries = count_field(j, "retries", /*required=*/false);
  c.rescanned = count_field(j, "rescanned", /*required=*/false);
  // How keys were written (files of earlier versions have none of these).
  c.restored = count_field(j, "restored", /*required=*/false);
  c.downgraded = count_field(j, "downgraded", /*required=*/false);
  c.rebuilt = count_field(j, "rebuilt", /*required=*/false);
  c.changed = count_field(j, "changed", /*required=*/false);
  for (std::size_t i = 1; i < rebuild_reasons; ++i) {
    const std::string name = fmt::format("rebuilt_{}", name_of(static_cast<rebuild_reason>(i)));
    c.rebuilt_by[i] = count_field(j, name.c_str(), /*required=*/false);
  }
  return c;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

nlohmann::json to_json(const checkpoint& state) {
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& shard : state.shards) {
    shards.push_back({{"address", shard.address},
                      {"node_id", shard.node_id},
                      {"run_id", shard.run_id},
                      {"cursor", std::to_string(shard.position.cursor)},
                      {"complete", shard.position.complete},
                      {"counts", counts_json(shard.position.done)}});
    if (shard.slots) shards.back()["slots"] = slot_text(*shard.slots);
  }
  nlohmann::json marks = nlohmann::json::array();
  for (const auto& mark : state.marks) {
    marks.push_back({{"key_base64", base64(mark.key)},
                     {"slot", mark.slot},
                     {"node", mark.node},
                     {"run_id", mark.run_id}});
  }
  nlohmann::json json{{"version", 2},
                      {"status", state.status},
                      {"job",
                       {{"source", state.job.source},
                        {"target", state.job.target},
                        {"match", state.job.match},
                        {"type", state.job.type},
                        {"slots", state.job.slots},
                        {"part", state.job.part},
                        {"id", state.job_id}}},
                      {"generation", state.generation},
                      {"target_marks", std::move(marks)},
                      {"shards", std::move(shards)},
                      {"moved_slots", slot_text(state.moved)}};
  if (!state.extension.empty()) {
    json["extension"] = nlohmann::json::parse(state.extension, nullptr, false);
  }
  if (state.part_slots) json["part_slots"] = slot_text(*state.part_slots);
  return json;
}

boost::system::result<checkpoint, std::string> checkpoint_from_json(const nlohmann::json& json) {
  try {
    checkpoint state;
    state.version = static_cast<int>(bounded_field(json, "version", 0, 1'000'000));
    if (state.version != 1 && state.version != 2) {
      return fmt::format("unknown state format version {} (this ferry reads versions 1 and 2)",
                         state.version);
    }
    state.status = json.at("status").get<std::string>();
    const auto& job = json.at("job");
    state.job = {normalized_identity(job.at("source").get<std::string>()),
                 normalized_identity(job.at("target").get<std::string>()),
                 job.at("match").get<std::string>(),
                 job.at("type").get<std::string>(),
                 job.at("slots").get<std::string>(),
                 job.value("part", std::string{})};
    state.job_id = job.value("id", std::string{});
    state.generation = count_field(json, "generation", false);
    for (const auto& entry : json.value("target_marks", nlohmann::json::array())) {
      target_mark mark;
      if (!decode_base64(entry.at("key_base64").get<std::string>(), mark.key)) {
        return std::string("target_marks: key_base64 is not base64");
      }
      mark.slot = static_cast<std::uint16_t>(bounded_field(entry, "slot", 0, 16383));
      mark.node = entry.at("node").get<std::string>();
      mark.run_id = entry.at("run_id").get<std::string>();
      state.marks.push_back(std::move(mark));
    }
    for (const auto& entry : json.at("shards")) {
      shard_state shard;
      shard.address = entry.at("address").get<std::string>();
      shard.node_id = entry.at("node_id").get<std::string>();
      shard.run_id = entry.at("run_id").get<std::string>();
      shard.position.cursor = cursor_field(entry.at("cursor").get<std::string>());
      shard.position.complete = entry.at("complete").get<bool>();
      shard.position.done = counts_from(entry.at("counts"));
      if (entry.contains("slots")) {
        auto slots = parse_slot_text(entry.at("slots").get<std::string>());
        if (!slots) return fmt::format("shard {}: slots: {}", shard.address, slots.error());
        shard.slots = *slots;
      }
      state.shards.push_back(std::move(shard));
    }
    auto moved = parse_slot_text(json.value("moved_slots", std::string{}));
    if (!moved) return fmt::format("moved_slots: {}", moved.error());
    state.moved = *moved;
    if (json.contains("extension")) state.extension = json.at("extension").dump();
    if (json.contains("part_slots")) {
      auto part = parse_slot_text(json.at("part_slots").get<std::string>());
      if (!part) return fmt::format("part_slots: {}", part.error());
      state.part_slots = *part;
    }
    return state;
  } catch (const nlohmann::json::out_of_range& e) {
    // "[json.exception.out_of_range.403] key 'status' not found": name the field, not the
    // library's internals.
    const std::string what = e.what();
    const auto open = what.find("key '");
    const auto close = open == std::string::npos ? open : what.find('\'', open + 5);
    if (close != std::string::npos) {
      return fmt::format("the field '{}' is missing", what.substr(open + 5, close - open - 5));
    }
    return std::string("a field is missing");
  } catch (const nlohmann::json::type_error&) {
    return std::string("a field has the wrong type");
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());  // cursor_field's and count_field's own words
  } catch (const std::exception&) {
    return std::string("a field has a value ferry cannot read");
  }
}

boost::system::result<void, std::string> save_checkpoint(const std::string& path,
                                                         const checkpoint& state) {
  const std::string text = to_json(state).dump(2) + "\n";
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot write the state file '{}': {}", temp, errno_text());
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      return fmt::format("cannot write the state file '{}': {}", temp, why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return fmt::format("cannot flush the state file '{}': {}", temp, errno_text());
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return fmt::format("cannot rename '{}' to '{}': {}", temp, path, errno_text());
  }
  // The rename is durable only once the directory entry is.
  const auto dir = std::filesystem::absolute(path).parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

boost::system::result<checkpoint, std::string> load_checkpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fmt::format("cannot read the state file '{}': {}", path, errno_text());
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  constexpr const char* remedy =
      "it is not a state file written by ferry, or it was damaged: restore it from a copy, or "
      "remove it and start the job again without --resume";
  if (json.is_discarded()) {
    return fmt::format("the state file '{}' is not valid JSON; {}", path, remedy);
  }
  if (!json.is_object()) {
    return fmt::format("the state file '{}' is not a JSON object; {}", path, remedy);
  }
  auto state = checkpoint_from_json(json);
  if (!state) return fmt::format("the state file '{}': {}; {}", path, state.error(), remedy);
  return state;
}

std::string endpoint_identity(const protocol::endpoint& where) {
  return fmt::format("{}://{}/{}", where.tls ? "rediss" : "redis", where.address(), where.db);
}

std::string normalized_identity(const std::string& text) {
  auto parsed = protocol::parse_endpoint(text);
  return parsed ? endpoint_identity(*parsed) : text;
}

std::string describe_differences(const job_identity& a, const job_identity& b) {
  std::string out;
  auto compare = [&out](const char* name, const std::string& x, const std::string& y) {
    if (x == y) return;
    if (!out.empty()) out += "; ";
    out += fmt::format("{}: '{}' then, '{}' now", name, x, y);
  };
  compare("source", a.source, b.source);
  compare("target", a.target, b.target);
  compare("--match", a.match, b.match);
  compare("--type", a.type, b.type);
  compare("--slots", a.slots, b.slots);
  compare("--shard-index/--shard-count", a.part, b.part);
  return out;
}

maybe<std::optional<checkpoint>> load_previous_state(
    const checkpointing& state, std::string_view job,
    const std::function<std::optional<std::string>(const checkpoint&)>& belongs) {
  if (state.path.empty()) return std::optional<checkpoint>{};
  if (!state.resume) {
    if (std::filesystem::exists(state.path)) {
      return fail_with(job_error::state_file,
                       fmt::format("the state file '{}' already exists: add --resume to continue "
                                   "that {}, or remove the file to start over",
                                   state.path, job));
    }
    return std::optional<checkpoint>{};
  }
  if (!std::filesystem::exists(state.path)) {
    return fail_with(job_error::state_file,
                     fmt::format("--resume: the state file '{}' does not exist: run the same "
                                 "command without --resume to start the {} (it creates the "
                                 "file), or give the path of the state file of the {} to "
                                 "continue",
                                 state.path, job, job));
  }
  auto loaded = load_checkpoint(state.path);
  if (!loaded) return fail_with(job_error::state_file, loaded.error());
  if (auto objection = belongs(*loaded)) {
    return fail_with(job_error::state_file,
                     fmt::format("--resume: the state file '{}' {}", state.path, *objection));
  }
  return std::optional<checkpoint>{std::move(*loaded)};
}

}  // namespace ferry::engine
