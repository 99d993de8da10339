#include "engine/cluster/link_state.hpp"

namespace ferry::engine {

namespace {

/// The registry of the running thread's io_context, if any.
thread_local link_registry* this_thread_registry = nullptr;

}  // namespace

link_state::link_state(boost::asio::any_io_executor executor, protocol::connection_options options)
    : connection(executor, std::move(options)),
      sweep_done(executor, boost::asio::steady_timer::time_point::max()) {}

link_registry* link_registry::of_this_thread() noexcept { return this_thread_registry; }

void link_registry::install(link_registry* registry) noexcept { this_thread_registry = registry; }

}  // namespace ferry::engine
