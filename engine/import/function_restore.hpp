#pragma once
// Function libraries of an RDB file restored on every master of the target: one FUNCTION RESTORE
// per library (a payload of one FUNCTION2 record, the same bytes FUNCTION DUMP makes), so that a
// library the target cannot take does not keep the others away.
//
// Policy: APPEND (a library of that name on the target is reported, not overwritten) unless the
// job replaces existing keys (--on-existing replace, or a resumed job, which meets its own
// libraries again): then REPLACE. A target without functions (before Redis 7.0) restores none and
// says so once.
//
// Thread: the one running the import's feed (its own io_context).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cluster/link.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// The FUNCTION RESTORE payload of one library (`code` as FUNCTION LOAD takes it), for a server
/// of RDB `version`.
std::string function_payload(std::string_view code, std::uint16_t version);

/// See the file comment.
class function_restorer {
 public:
  /// Restores on the masters of `map`, reached like `seed`; payloads carry RDB `version`.
  function_restorer(boost::asio::any_io_executor executor, protocol::connection_options seed,
                    const protocol::topology& map, std::uint16_t version, bool replace,
                    const tuning& tune, job_control& control);
  ~function_restorer();

  /// Restores the library on every master: true when each took it, false when the target cannot
  /// hold it (see warnings()); an error when a master cannot be reached.
  boost::asio::awaitable<maybe<bool>> restore(std::string_view code);

  /// Messages for the report (libraries not restored, and why).
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  std::vector<std::unique_ptr<link>> masters_;
  std::uint16_t version_;
  bool replace_;
  bool unsupported_ = false;  // the target has no functions: said once
  std::vector<std::string> warnings_;
};

}  // namespace ferry::engine
