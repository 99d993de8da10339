#include "engine/runtime/errors.hpp"

#include <string>

namespace ferry::engine {
namespace {

// See protocol/wire/errors.cpp for why the warning is silenced.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class engine_error_category final : public boost::system::error_category {
 public:
  constexpr engine_error_category() noexcept : error_category(0x6665'7272'7931'0002ULL) {}

  const char* name() const noexcept override { return "ferry.engine"; }

  std::string message(int value) const override {
    switch (static_cast<job_error>(value)) {
      case job_error::state_file:
        return "the state file cannot be used";
      case job_error::output_file:
        return "an output file cannot be written";
      case job_error::configuration:
        return "the job's settings cannot work";
      case job_error::stopped:
        return "the job is stopping";
      case job_error::target_lost:
        return "a target node lost keys this job had written";
      case job_error::internal:
        return "internal error (a bug in ferry)";
      case job_error::source_restarted:
        return "a source node restarted during the job";
      case job_error::input_file:
        return "an input file cannot be read or is damaged";
    }
    return "unknown ferry.engine error";
  }
};
#pragma GCC diagnostic pop

constinit const engine_error_category the_category;

}  // namespace

const boost::system::error_category& engine_category() noexcept { return the_category; }

boost::system::error_code make_error_code(job_error e) noexcept {
  return {static_cast<int>(e), the_category};
}

std::string_view job_error_name(job_error e) noexcept {
  switch (e) {
    case job_error::state_file:
      return "state_file";
    case job_error::output_file:
      return "output_file";
    case job_error::configuration:
      return "configuration";
    case job_error::stopped:
      return "stopped";
    case job_error::target_lost:
      return "target_lost";
    case job_error::internal:
      return "internal";
    case job_error::source_restarted:
      return "source_restarted";
    case job_error::input_file:
      return "input_file";
  }
  return "unknown";
}

}  // namespace ferry::engine
