#pragma once
// A minimal pull generator on C++20 coroutines (std::generator is C++23). The decoders are
// written as straight recursive code that `co_yield`s events; callers pull them one at a time,
// so a value of any size is decoded in bounded memory and at the caller's pace.

#include <coroutine>
#include <exception>
#include <utility>

namespace ferry::protocol::rdb::detail {

/// Yields pointers to values owned by the coroutine (valid until the next `next()`).
template <class T>
class generator {
 public:
  /// The coroutine's promise.
  struct promise_type {
    const T* current = nullptr;
    std::exception_ptr error;
    generator get_return_object() {
      return generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    std::suspend_always yield_value(const T& value) noexcept {
      current = &value;
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  generator() = default;
  generator(generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;
  ~generator() { reset(); }

  /// Runs to the next `co_yield`; nullptr when the coroutine finished. Rethrows what it threw.
  const T* next() {
    if (!handle_ || handle_.done()) return nullptr;
    handle_.promise().current = nullptr;
    handle_.resume();
    if (handle_.promise().error) {
      std::exception_ptr e = std::exchange(handle_.promise().error, nullptr);
      std::rethrow_exception(e);
    }
    return handle_.done() ? nullptr : handle_.promise().current;
  }
  /// True when there is a coroutine that has not finished.
  bool active() const noexcept { return handle_ && !handle_.done(); }
  /// Destroys the coroutine (and everything it holds).
  void reset() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }

 private:
  explicit generator(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace ferry::protocol::rdb::detail
