#include "engine/metrics/exposition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace ferry::engine::metrics {
namespace {

std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` plus an optional trailing `le` label; nothing when there are no labels at all.
void append_labels(std::string& out, const family& f, const label_values& values,
                   std::string_view le = {}) {
  const auto& names = f.label_names();
  if (names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_line(std::string& out, std::string_view name, std::string_view suffix, const family& f,
                 const label_values& labels, double value, std::string_view le = {}) {
  out += name;
  out += suffix;
  append_labels(out, f, labels, le);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

std::string escape_help(std::string_view text) { return escape(text, false); }

std::string escape_label_value(std::string_view text) { return escape(text, true); }

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Below 2^53 every integer is exact in a double; print it as one (counters, bytes, keys).
  constexpr double exact_limit = 9007199254740992.0;
  if (std::trunc(value) == value && std::fabs(value) < exact_limit) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);  // shortest form that reads back to the same double
}

void append_family(std::string& out, const family& f, const std::vector<sample>& samples) {
  if (samples.empty()) return;
  const std::string& name = f.name();
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(f.help());
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type_name(f.type());
  out += '\n';
  for (const sample& s : samples) {
    f.check_labels(s.labels);
    if (f.type() != metric_type::histogram) {
      append_line(out, name, "", f, s.labels, s.value);
      continue;
    }
    const auto& bounds = f.buckets();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      append_line(out, name, "_bucket", f, s.labels,
                  static_cast<double>(s.buckets.cumulative.at(i)), format_value(bounds[i]));
    }
    append_line(out, name, "_bucket", f, s.labels, static_cast<double>(s.buckets.count), "+Inf");
    append_line(out, name, "_sum", f, s.labels, s.buckets.sum);
    append_line(out, name, "_count", f, s.labels, static_cast<double>(s.buckets.count));
  }
}

}  // namespace ferry::engine::metrics
