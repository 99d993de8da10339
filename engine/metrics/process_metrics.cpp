#include "engine/metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace ferry::engine::metrics {
namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool parse_number(std::string_view text, std::uint64_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

std::optional<std::size_t> count_open_fds() {
  std::error_code error;
  std::filesystem::directory_iterator it("/proc/self/fd", error);
  if (error) return std::nullopt;
  std::size_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++n;
  }
  return n > 0 ? n - 1 : 0;  // the directory being listed is itself an open descriptor
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view line) {
  // "pid (comm) state ppid ..."; comm may contain ") ", so the last ')' ends it.
  const auto close = line.rfind(')');
  if (close == std::string_view::npos || close + 2 > line.size()) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 of proc(5), the state
  std::string_view rest = line.substr(close + 2);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    fields.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  // proc(5) numbers fields from 1: utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const auto field = [&](std::size_t number, std::uint64_t& out) {
    return number - 3 < fields.size() && parse_number(fields[number - 3], out);
  };
  proc_stat s;
  std::uint64_t utime = 0, stime = 0;
  if (!field(14, utime) || !field(15, stime) || !field(22, s.start_ticks) ||
      !field(23, s.virtual_bytes) || !field(24, s.resident_pages)) {
    return std::nullopt;
  }
  s.cpu_ticks = utime + stime;
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_file) {
  std::istringstream in{std::string(proc_stat_file)};
  std::string key;
  std::string value;
  while (in >> key) {
    if (key == "btime") {
      std::uint64_t t = 0;
      if (in >> value && parse_number(value, t)) return t;
      return std::nullopt;
    }
    std::getline(in, value);
  }
  return std::nullopt;
}

collector_handle add_process_metrics(registry& r) {
  const auto& cpu = r.add_counter(families::process_cpu);
  const auto& resident = r.add_gauge(families::process_resident);
  const auto& virtual_memory = r.add_gauge(families::process_virtual);
  const auto& start = r.add_gauge(families::process_start);
  const auto& open_fds = r.add_gauge(families::process_open_fds);
  const auto& max_fds = r.add_gauge(families::process_max_fds);
  // Neither changes while the process runs.
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::optional<std::uint64_t> boot = parse_boot_time(read_file("/proc/stat"));
  return r.add_collector([=, &cpu, &resident, &virtual_memory, &start, &open_fds,
                          &max_fds](scrape& s) {
    if (const auto stat = parse_proc_stat(read_file("/proc/self/stat"))) {
      s.add(cpu, {}, static_cast<double>(stat->cpu_ticks) / ticks_per_second);
      s.add(resident, {}, static_cast<double>(stat->resident_pages) * page_bytes);
      s.add(virtual_memory, {}, static_cast<double>(stat->virtual_bytes));
      if (boot) {
        s.add(
            start, {},
            static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks_per_second);
      }
    }
    if (const auto fds = count_open_fds()) s.add(open_fds, {}, static_cast<double>(*fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      s.add(max_fds, {}, static_cast<double>(limit.rlim_cur));
    }
  });
}

}  // namespace ferry::engine::metrics
