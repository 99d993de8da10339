#pragma once
// Notices a target node that restarted and lost data while a copy runs: its run_id changed and
// it holds fewer keys than at the last look. The copy cannot tell which keys were lost, so it
// says so loudly and advises `ferry verify --repair`.
//
// Thread: the job's calling thread (it blocks briefly on its own io_context).

#include <map>
#include <string>
#include <vector>

#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// See the file comment.
class target_watch {
 public:
  /// Watches the masters of `map`, connecting with `options` (host and port replaced).
  target_watch(protocol::connection_options options, protocol::topology map);

  /// Looks at every master once; appends a warning for each that restarted and lost keys.
  void check(std::vector<std::string>& warnings);

 private:
  struct seen {
    std::string run_id;
    long long keys = -1;
    bool reported = false;
  };
  protocol::connection_options options_;
  protocol::topology map_;
  std::map<std::string, seen> nodes_;
};

}  // namespace ferry::engine
