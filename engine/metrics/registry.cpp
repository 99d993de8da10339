#include "engine/metrics/registry.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "engine/metrics/exposition.hpp"

namespace ferry::engine::metrics {
namespace {

bool name_char(char c, bool first, bool colon) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const bool digit = c >= '0' && c <= '9';
  return letter || (!first && digit) || (colon && c == ':');
}

// Prometheus's rules: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) return false;
  }
  return true;
}

std::vector<std::string> split_labels(std::string_view labels) {
  std::vector<std::string> names;
  while (!labels.empty()) {
    const auto comma = labels.find(',');
    names.emplace_back(labels.substr(0, comma));
    if (comma == std::string_view::npos) break;
    labels.remove_prefix(comma + 1);
  }
  return names;
}

[[noreturn]] void bad_spec(std::string_view name, std::string_view why) {
  throw std::invalid_argument(fmt::format("metric family '{}': {}", name, why));
}

}  // namespace

std::string_view type_name(metric_type type) noexcept {
  switch (type) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

family::family(const family_spec& spec)
    : name_(spec.name),
      help_(spec.help),
      type_(spec.type),
      label_names_(split_labels(spec.labels)),
      buckets_(spec.buckets.begin(), spec.buckets.end()) {
  if (!valid_name(name_, true)) bad_spec(name_, "not a valid Prometheus metric name");
  if (help_.empty()) bad_spec(name_, "needs a help text");
  const bool total = name_.ends_with("_total");
  if (type_ == metric_type::counter && !total) bad_spec(name_, "a counter's name ends in _total");
  if (type_ != metric_type::counter && total) bad_spec(name_, "only counters end in _total");
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    const std::string& label = label_names_[i];
    if (!valid_name(label, false) || label.starts_with("__")) {
      bad_spec(name_, fmt::format("'{}' is not a valid label name", label));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (label_names_[j] == label) bad_spec(name_, fmt::format("label '{}' twice", label));
    }
    if (type_ == metric_type::histogram && label == "le") {
      bad_spec(name_, "a histogram cannot have a label 'le'");
    }
  }
  if (type_ == metric_type::histogram) {
    if (buckets_.empty()) bad_spec(name_, "a histogram needs buckets");
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      if (!std::isfinite(buckets_[i]) || (i > 0 && buckets_[i] <= buckets_[i - 1])) {
        bad_spec(name_, "bucket bounds must be finite and increasing");
      }
    }
  } else if (!buckets_.empty()) {
    bad_spec(name_, "only histograms have buckets");
  }
}

void family::check_labels(const label_values& values) const {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(fmt::format("metric '{}' has {} labels, given {} values", name_,
                                            label_names_.size(), values.size()));
  }
}

void scrape::add(const counter_family& f, label_values labels, double value) {
  f.check_labels(labels);
  samples_[&f].push_back(sample{std::move(labels), value, {}});
}

void scrape::add(const gauge_family& f, label_values labels, double value) {
  f.check_labels(labels);
  samples_[&f].push_back(sample{std::move(labels), value, {}});
}

void scrape::add(const histogram_family& f, label_values labels, histogram_snapshot buckets) {
  f.check_labels(labels);
  if (buckets.cumulative.size() != f.buckets().size()) {
    throw std::invalid_argument(fmt::format("histogram '{}' has {} buckets, given {}", f.name(),
                                            f.buckets().size(), buckets.cumulative.size()));
  }
  samples_[&f].push_back(sample{std::move(labels), 0, std::move(buckets)});
}

const std::vector<sample>& scrape::samples_of(const family& f) const {
  static const std::vector<sample> none;
  const auto at = samples_.find(&f);
  return at == samples_.end() ? none : at->second;
}

collector_handle::collector_handle(collector_handle&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}

collector_handle& collector_handle::operator=(collector_handle&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void collector_handle::reset() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->remove_collector(id_);
}

template <class Family>
Family& registry::add(const family_spec& spec, metric_type type) {
  if (spec.type != type) {
    bad_spec(spec.name, fmt::format("declared a {}, registered as a {}", type_name(spec.type),
                                    type_name(type)));
  }
  auto created = std::make_unique<Family>(spec);
  Family& result = *created;
  std::lock_guard lock(families_mutex_);
  for (const auto& f : families_) {
    if (f->name() == result.name()) bad_spec(spec.name, "registered twice");
  }
  families_.push_back(std::move(created));
  return result;
}

counter_family& registry::add_counter(const family_spec& spec) {
  return add<counter_family>(spec, metric_type::counter);
}

gauge_family& registry::add_gauge(const family_spec& spec) {
  return add<gauge_family>(spec, metric_type::gauge);
}

histogram_family& registry::add_histogram(const family_spec& spec) {
  return add<histogram_family>(spec, metric_type::histogram);
}

collector_handle registry::add_collector(collector collect) {
  std::lock_guard lock(collectors_mutex_);
  const std::uint64_t id = next_id_++;
  collectors_.emplace(id, std::move(collect));
  return collector_handle(this, id);
}

void registry::remove_collector(std::uint64_t id) noexcept {
  std::lock_guard lock(collectors_mutex_);
  collectors_.erase(id);
}

std::string registry::expose() const {
  scrape collected;
  {
    std::lock_guard lock(collectors_mutex_);
    for (const auto& [id, collect] : collectors_) collect(collected);
  }
  std::vector<const family*> families;
  {
    std::lock_guard lock(families_mutex_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  std::vector<sample> samples;
  for (const family* f : families) {
    samples.clear();
    f->read_owned(samples);
    const auto& more = collected.samples_of(*f);
    samples.insert(samples.end(), more.begin(), more.end());
    append_family(out, *f, samples);
  }
  return out;
}

}  // namespace ferry::engine::metrics
