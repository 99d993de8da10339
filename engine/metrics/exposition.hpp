#pragma once
// The Prometheus text exposition format, version 0.0.4: what GET /metrics answers.
//
//   # HELP ferry_keys_copied_total Keys the target acknowledged.
//   # TYPE ferry_keys_copied_total counter
//   ferry_keys_copied_total{shard="10.0.0.5:6379"} 1200
//
// Histograms become `<name>_bucket{...,le="0.005"}` lines (cumulative, ending with le="+Inf"),
// `<name>_sum` and `<name>_count`.

#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {

/// The Content-Type of the format.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

/// Help text escaped for a `# HELP` line: `\` as `\\`, a line feed as `\n`.
std::string escape_help(std::string_view text);

/// A label value escaped for `name="..."`: `\` as `\\`, `"` as `\"`, a line feed as `\n`.
std::string escape_label_value(std::string_view text);

/// A sample value as Prometheus parses it: integers without a decimal point (up to 2^53),
/// others in the shortest form that reads back exactly, and `+Inf`, `-Inf`, `NaN`.
std::string format_value(double value);

/// Appends `f`'s `# HELP` and `# TYPE` lines and one line per sample (histograms: their bucket,
/// sum and count lines). Nothing is appended when `samples` is empty.
void append_family(std::string& out, const family& f, const std::vector<sample>& samples);

}  // namespace ferry::engine::metrics
