#pragma once
// A registry of metric families in the Prometheus data model, and what a scrape reads from it.
//
// A family has a name, a help text, a type and label names (`shard`, `side`, `cause`, ...). Its
// values come two ways, which may be mixed (with different label values):
// - owned: `family.with({"10.0.0.5:6379"})` returns a counter, gauge or histogram that lives as
//   long as the registry; take the reference once at setup and add to it on the hot path;
// - collected: `registry.add_collector(fn)` runs `fn` at every scrape, and `fn` adds samples read
//   from counters the job already keeps (copy_job::progress(), verify_counters), so nothing is
//   counted twice.
//
// Thread: registration, with() and expose() are safe from any thread (they lock); the values
// themselves are lock-free (values.hpp). Collectors run on the scraping thread, one scrape at a
// time, and must not register families or collectors themselves.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/metrics/values.hpp"

namespace ferry::engine::metrics {

/// The Prometheus metric types ferry uses.
enum class metric_type {
  counter,    ///< only goes up; its name ends in `_total`
  gauge,      ///< goes up and down
  histogram,  ///< observations in buckets, exposed as `_bucket{le=...}`, `_sum`, `_count`
};

/// The word for `type` in a `# TYPE` line.
std::string_view type_name(metric_type type) noexcept;

/// How a family is declared: written once (job_metrics.hpp) and registered from there.
struct family_spec {
  /// The metric name, e.g. "ferry_keys_copied_total" (counters end in `_total`).
  std::string_view name;
  /// Its type.
  metric_type type;
  /// Label names separated by commas ("shard,side"); empty for none.
  std::string_view labels;
  /// One sentence for `# HELP`: what is counted, in which unit.
  std::string_view help;
  /// Histograms only: the finite upper bounds of the buckets, increasing.
  std::span<const double> buckets = {};
};

/// Label values of one series, in the order of its family's label names.
using label_values = std::vector<std::string>;

/// One series as a scrape reads it: label values and a value (counters and gauges) or buckets.
struct sample {
  /// Its label values.
  label_values labels;
  /// Counters and gauges: the value.
  double value = 0;
  /// Histograms: the buckets.
  histogram_snapshot buckets;
};

/// What every family has, whatever its type.
class family {
 public:
  /// Checks the names (Prometheus's rules, `_total` for counters, no `le` label on a
  /// histogram, increasing finite buckets); throws std::invalid_argument on a bad declaration.
  explicit family(const family_spec& spec);
  virtual ~family() = default;
  family(const family&) = delete;
  family& operator=(const family&) = delete;

  /// The metric name.
  const std::string& name() const noexcept { return name_; }
  /// The help text, unescaped.
  const std::string& help() const noexcept { return help_; }
  /// The type.
  metric_type type() const noexcept { return type_; }
  /// The label names.
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  /// Histograms: the bucket bounds (without +Inf); empty otherwise.
  const std::vector<double>& buckets() const noexcept { return buckets_; }

  /// Throws std::invalid_argument unless `values` has one value per label name.
  void check_labels(const label_values& values) const;
  /// Appends a sample for every owned series, sorted by label values.
  virtual void read_owned(std::vector<sample>& out) const = 0;

 private:
  std::string name_;
  std::string help_;
  metric_type type_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
};

/// A family whose owned series are of type `Value` (counter, gauge or histogram).
template <class Value>
class family_of : public family {
 public:
  using family::family;

  /// The series with these label values, created (at zero) on first use. Takes a lock: call it
  /// at setup and keep the reference, which stays valid as long as the registry.
  Value& with(const label_values& values) {
    check_labels(values);
    std::lock_guard lock(mutex_);
    auto [at, inserted] = series_.try_emplace(values);
    if (inserted) at->second = make_value();
    return *at->second;
  }
  /// The series without labels (for a family that has none).
  Value& get() { return with({}); }

  /// See family::read_owned.
  void read_owned(std::vector<sample>& out) const override {
    std::lock_guard lock(mutex_);
    for (const auto& [labels, value] : series_) {
      sample& s = out.emplace_back();
      s.labels = labels;
      if constexpr (std::is_same_v<Value, histogram>) {
        s.buckets = value->snapshot();
      } else {
        s.value = static_cast<double>(value->value());
      }
    }
  }

 private:
  std::unique_ptr<Value> make_value() const {
    if constexpr (std::is_same_v<Value, histogram>) {
      return std::make_unique<Value>(std::span<const double>(buckets()));
    } else {
      return std::make_unique<Value>();
    }
  }

  mutable std::mutex mutex_;
  std::map<label_values, std::unique_ptr<Value>> series_;
};

/// A family of counters.
using counter_family = family_of<counter>;
/// A family of gauges.
using gauge_family = family_of<gauge>;
/// A family of histograms.
using histogram_family = family_of<histogram>;

/// What collectors add to during one scrape.
class scrape {
 public:
  /// Adds a counter's value, e.g. `s.add(m.keys_copied, {shard}, counts.copied)`.
  void add(const counter_family& f, label_values labels, double value);
  /// Adds a gauge's value.
  void add(const gauge_family& f, label_values labels, double value);
  /// Adds a histogram's buckets (one cumulative count per bound of `f`).
  void add(const histogram_family& f, label_values labels, histogram_snapshot buckets);

  /// The samples collected for `f`, in the order they were added.
  const std::vector<sample>& samples_of(const family& f) const;

 private:
  std::map<const family*, std::vector<sample>> samples_;
};

class registry;

/// Keeps a collector registered; destroying it unregisters the collector and waits for a scrape
/// that is running it, so a collector may refer to a job that outlives only the handle.
class collector_handle {
 public:
  /// A handle that keeps nothing registered.
  collector_handle() = default;
  /// Unregisters the collector.
  ~collector_handle() { reset(); }
  /// Moves the registration.
  collector_handle(collector_handle&& other) noexcept;
  /// Unregisters the current collector and takes over `other`'s.
  collector_handle& operator=(collector_handle&& other) noexcept;
  collector_handle(const collector_handle&) = delete;
  collector_handle& operator=(const collector_handle&) = delete;

  /// Unregisters now.
  void reset() noexcept;

 private:
  friend class registry;
  collector_handle(registry* owner, std::uint64_t id) : owner_(owner), id_(id) {}

  registry* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

/// See the file comment.
class registry {
 public:
  /// What a collector is: reads values and adds them to the scrape.
  using collector = std::function<void(scrape&)>;

  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Registers a counter family (spec.type must be counter); throws std::invalid_argument on a
  /// bad spec or a name already registered.
  counter_family& add_counter(const family_spec& spec);
  /// Registers a gauge family.
  gauge_family& add_gauge(const family_spec& spec);
  /// Registers a histogram family.
  histogram_family& add_histogram(const family_spec& spec);
  /// Registers `collect`, run at every scrape until the handle is destroyed.
  [[nodiscard]] collector_handle add_collector(collector collect);

  /// The text exposition format 0.0.4 of every family that has samples, in registration order:
  /// owned series first, then collected ones. A family without any sample is left out.
  std::string expose() const;

 private:
  friend class collector_handle;
  template <class Family>
  Family& add(const family_spec& spec, metric_type type);
  void remove_collector(std::uint64_t id) noexcept;

  mutable std::mutex families_mutex_;
  std::vector<std::unique_ptr<family>> families_;
  // Held while collectors run, so remove_collector() waits for a running scrape.
  mutable std::mutex collectors_mutex_;
  std::map<std::uint64_t, collector> collectors_;
  std::uint64_t next_id_ = 1;
};

}  // namespace ferry::engine::metrics
