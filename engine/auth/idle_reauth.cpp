#include "engine/auth/idle_reauth.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

/// How often idle links are looked at: a renewal comes minutes before the old token expires.
constexpr std::chrono::seconds sweep_interval{1};

/// AUTHs `link` with the current token; on failure closes it, so that its next batch reconnects
/// with the current token and reports a refusal the usual way.
asio::awaitable<void> reauth(std::shared_ptr<link_state> link) {
  if (auto ec = co_await link->connection.reauth()) link->connection.close();
  link->sweeping = false;
  link->sweep_done.cancel();
}

}  // namespace

reauth_sweeper::reauth_sweeper(asio::any_io_executor executor, std::size_t flows)
    : executor_(executor), flows_(flows), tick_(executor) {
  install(this);
}

reauth_sweeper::~reauth_sweeper() {
  if (of_this_thread() == this) install(nullptr);
}

void reauth_sweeper::enroll(const std::shared_ptr<link_state>& link) { links_.push_back(link); }

asio::awaitable<void> reauth_sweeper::run_flow(asio::awaitable<void> flow) {
  // Counted whether the flow returns or throws (not from a destructor: a frame destroyed with
  // its io_context after an internal error must not touch a sweeper that is gone).
  try {
    co_await std::move(flow);
  } catch (...) {
    flow_ended();
    throw;
  }
  flow_ended();
}

void reauth_sweeper::flow_ended() {
  if (flows_ > 0 && --flows_ == 0) tick_.cancel();
}

asio::awaitable<void> reauth_sweeper::run() {
  while (flows_ > 0) {
    tick_.expires_after(sweep_interval);
    co_await tick_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (flows_ > 0) sweep();
  }
}

void reauth_sweeper::sweep() {
  std::erase_if(links_, [](const std::weak_ptr<link_state>& link) { return link.expired(); });
  for (const auto& weak : links_) {
    const std::shared_ptr<link_state> link = weak.lock();
    if (!link || link->in_batch || link->sweeping || !link->connection.login_outdated()) continue;
    link->sweeping = true;
    asio::co_spawn(executor_, reauth(link), asio::detached);
  }
}

void run_flows_with_reauth(asio::io_context& io, std::vector<asio::awaitable<void>> flows,
                           const std::function<void(std::exception_ptr)>& on_error) {
  // Idle connections move to a renewed token too, while this thread's flows run.
  reauth_sweeper sweeper(io.get_executor(), flows.size());
  for (auto& flow : flows) {
    asio::co_spawn(io, sweeper.run_flow(std::move(flow)), [&on_error](std::exception_ptr error) {
      if (error) on_error(error);
    });
  }
  asio::co_spawn(io, sweeper.run(), asio::detached);
  io.run();
}

}  // namespace ferry::engine
