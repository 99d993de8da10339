#pragma once
// What the links and redirect rounds of one owner (a shard's source side, or its target side)
// count for the metrics endpoint: batches sent again, by cause, and connections opened again
// after one broke. The existing retry totals (link::retries(), redirect_round::rounds_retried())
// stay as they are; these say why.
//
// Thread: the owner's worker thread adds (relaxed atomics, no lock, no allocation); any thread
// reads (a scrape).

#include <array>
#include <atomic>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

/// A snapshot of a link_stats.
struct link_counts {
  /// Causes counted: every errc value (its number is the index) plus `other_cause` last.
  static constexpr std::size_t causes = static_cast<std::size_t>(protocol::errc::server_error) + 2;
  /// The index of causes outside ferry's error category.
  static constexpr std::size_t other_cause = causes - 1;

  /// Retries by cause (index: the errc value; 0 is never used).
  std::array<std::uint64_t, causes> retries{};
  /// Connections opened again after they had been open once.
  std::uint64_t reconnects = 0;

  /// The label value of cause `i` ("moved", "timeout", ...; "other" for other_cause).
  static std::string_view cause_name(std::size_t i) noexcept {
    if (i == other_cause || i == 0) return "other";
    return protocol::errc_name(static_cast<protocol::errc>(i));
  }
  /// Adds another snapshot.
  link_counts& operator+=(const link_counts& other) noexcept {
    for (std::size_t i = 0; i < causes; ++i) retries[i] += other.retries[i];
    reconnects += other.reconnects;
    return *this;
  }
};

/// See the file comment.
class link_stats {
 public:
  /// One batch (or redirect round) sent again because of `cause`.
  void retried(protocol::errc cause) noexcept {
    const auto i = static_cast<std::size_t>(cause);
    add(retries_[i > 0 && i < link_counts::other_cause ? i : link_counts::other_cause]);
  }
  /// The same for an error code: ferry's own category by its errc, anything else as "other".
  void retried(const boost::system::error_code& cause) noexcept {
    if (cause.category() == protocol::ferry_category()) {
      retried(static_cast<protocol::errc>(cause.value()));
    } else {
      add(retries_[link_counts::other_cause]);
    }
  }
  /// A connection opened again after it had been open once.
  void reconnected() noexcept { add(reconnects_); }

  /// Every counter.
  link_counts snapshot() const noexcept {
    link_counts c;
    for (std::size_t i = 0; i < link_counts::causes; ++i) {
      c.retries[i] = retries_[i].load(std::memory_order_relaxed);
    }
    c.reconnects = reconnects_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  static void add(std::atomic<std::uint64_t>& counter) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  std::array<std::atomic<std::uint64_t>, link_counts::causes> retries_{};
  std::atomic<std::uint64_t> reconnects_{0};
};

}  // namespace ferry::engine
