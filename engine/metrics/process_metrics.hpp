#pragma once
// The standard process metrics (the names Prometheus's own client libraries use), read from
// /proc/self at scrape time: memory, CPU time, start time, file descriptors.

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {

/// The process families, as Prometheus's client libraries name them.
namespace families {
/// User plus system CPU time.
inline constexpr family_spec process_cpu{"process_cpu_seconds_total", metric_type::counter, "",
                                         "Total user and system CPU time spent in seconds."};
/// Resident set size.
inline constexpr family_spec process_resident{"process_resident_memory_bytes", metric_type::gauge,
                                              "", "Resident memory size in bytes."};
/// Virtual memory size.
inline constexpr family_spec process_virtual{"process_virtual_memory_bytes", metric_type::gauge, "",
                                             "Virtual memory size in bytes."};
/// When the process started.
inline constexpr family_spec process_start{
    "process_start_time_seconds", metric_type::gauge, "",
    "Start time of the process since unix epoch in seconds."};
/// Open file descriptors.
inline constexpr family_spec process_open_fds{"process_open_fds", metric_type::gauge, "",
                                              "Number of open file descriptors."};
/// The descriptor limit (RLIMIT_NOFILE).
inline constexpr family_spec process_max_fds{"process_max_fds", metric_type::gauge, "",
                                             "Maximum number of open file descriptors."};
/// All of them.
inline constexpr const family_spec* process_all[] = {&process_cpu,      &process_resident,
                                                     &process_virtual,  &process_start,
                                                     &process_open_fds, &process_max_fds};
}  // namespace families

/// What /proc/self/stat says about the process.
struct proc_stat {
  /// User plus system CPU time, in clock ticks.
  std::uint64_t cpu_ticks = 0;
  /// When it started, in clock ticks after boot.
  std::uint64_t start_ticks = 0;
  /// Virtual memory size, in bytes.
  std::uint64_t virtual_bytes = 0;
  /// Resident set size, in pages.
  std::uint64_t resident_pages = 0;
};

/// Parses the one line of /proc/<pid>/stat (the command name in parentheses may hold spaces and
/// parentheses itself); nullopt when the line is not in that format.
std::optional<proc_stat> parse_proc_stat(std::string_view line);

/// The boot time (unix seconds) from /proc/stat's `btime` line; nullopt when absent.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_file);

/// Registers process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_start_time_seconds, process_open_fds and
/// process_max_fds in `r`, and a collector that reads them. Keep the handle as long as `r`
/// serves. A file that cannot be read leaves its metrics out of that scrape.
[[nodiscard]] collector_handle add_process_metrics(registry& r);

}  // namespace ferry::engine::metrics
