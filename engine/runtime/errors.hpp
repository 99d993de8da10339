#pragma once
// The engine's own errors: what goes wrong in ferry or around it rather than on a server (a
// server's refusals stay protocol::errc). One enum, one category.

#include <boost/system/error_code.hpp>
#include <string_view>

namespace ferry::engine {

/// What can go wrong in a job that no server said.
enum class job_error {
  state_file = 1,  ///< the state file cannot be read or written, or belongs to another job
  output_file,     ///< an output file (failed keys, diff, report) cannot be written
  configuration,   ///< the job's settings cannot work (e.g. a database number on a cluster)
  stopped,         ///< the job is stopping: work still asked for is given up
  target_lost,     ///< a target node restarted or failed over and may have lost keys
  internal,        ///< a bug: an exception escaped a stage of the pipeline
  /// a source node restarted during the job, so the scan cursor it went on with meant nothing
  source_restarted,
  input_file,      ///< an input file (an RDB file to import) cannot be read or is damaged
};

/// The category of `job_error` ("ferry.engine").
const boost::system::error_category& engine_category() noexcept;

/// Wraps an `job_error` in an error_code of `engine_category()`.
boost::system::error_code make_error_code(job_error e) noexcept;

/// The enumerator's own name ("state_file", ...).
std::string_view job_error_name(job_error e) noexcept;

}  // namespace ferry::engine

namespace boost::system {
template <>
struct is_error_code_enum<ferry::engine::job_error> : std::true_type {};
}  // namespace boost::system
