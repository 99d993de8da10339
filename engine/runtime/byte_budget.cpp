#include "engine/runtime/byte_budget.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ferry::engine {

byte_budget::byte_budget(boost::asio::any_io_executor executor, std::size_t capacity)
    : capacity_(capacity), wake_(executor, boost::asio::steady_timer::time_point::max()) {}

boost::asio::awaitable<void> byte_budget::acquire(std::size_t bytes) {
  while (used_ != 0 && used_ + bytes > capacity_) {
    co_await wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  used_ += bytes;
  peak_ = std::max(peak_, used_);
  if (shared_ != nullptr) shared_->fetch_add(bytes, std::memory_order_relaxed);
}

void byte_budget::release(std::size_t bytes) noexcept {
  const std::size_t given = std::min(bytes, used_);
  used_ -= given;
  if (shared_ != nullptr) shared_->fetch_sub(given, std::memory_order_relaxed);
  wake_.cancel();
}

}  // namespace ferry::engine
