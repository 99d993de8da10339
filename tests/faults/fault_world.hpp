#pragma once
// The servers and files of one fault run: a standalone source filled with every type plus
// strings, a standalone or 3-master cluster target (with an AOF or an RDB file to come back
// from when the plan restarts it with data), a directory for ferry's outputs and, for a full
// disk, a small tmpfs (or, where mounting is not allowed, a file-size limit for ferry).
//
// Thread: the test's main thread only (servers die with the thread that started them).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/faults/fault_plan.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing::faults {

/// How a restarted server comes back.
enum class comeback { empty, from_disk };

/// See the file comment.
class fault_world {
 public:
  /// Starts and fills the servers for `plan`; throws when they cannot be started.
  explicit fault_world(const run_plan& plan);
  /// Kills the servers and unmounts the tmpfs.
  ~fault_world();
  fault_world(const fault_world&) = delete;
  fault_world& operator=(const fault_world&) = delete;

  /// The source server.
  redis_server& source() const { return *source_; }
  /// Target node `i` (a cluster master by creation order; the server itself when standalone).
  redis_server& target_node(int i) const;
  /// 1 or 3.
  int target_nodes() const { return cluster_ ? 3 : 1; }
  /// The seed URL of the target.
  std::string target_url() const;
  /// "127.0.0.1:P" of every server, for messages that must name one.
  std::vector<std::string> addresses() const;

  /// Keys on the source after the fill (its DBSIZE).
  std::size_t source_keys() const { return source_keys_; }
  /// The keys put on the target beforehand (with other values than the source's).
  const std::set<std::string>& existing() const { return existing_; }
  /// Sum of DBSIZE over the target's nodes, or nothing when a node does not answer in time.
  std::optional<std::uint64_t> target_dbsize();

  /// kill -9 of target node `i` (a cluster master by creation order).
  void kill_target(int i);
  /// Starts killed node `i` again on its port: empty (its AOF and RDB files removed; a cluster
  /// node keeps nodes.conf, hence its identity) or from what its files hold. Waits for a
  /// cluster to agree again.
  void start_target(int i, comeback how);
  /// kill -9 of the source.
  void kill_source();
  /// Starts the killed source again, like `start_target`.
  void start_source(comeback how);
  /// How many of ferry's marks the target holds (0 once a job has ended and removed them), or
  /// nothing when a node does not answer.
  std::optional<std::uint64_t> target_marks();
  /// SIGCONT for every server (after a stop that a run ended in) and, for a cluster, waits
  /// until it is healthy. Call before judging or resuming.
  void settle();

  /// Where ferry writes `file` (on the tmpfs when that file is the one a full disk hits).
  std::filesystem::path path_of(output_file file) const;
  /// The --diff file of the inline verifier and of `ferry verify`.
  std::filesystem::path diff_path() const { return dir_ / "diff.jsonl"; }
  /// Working directory for ferry's stdout/stderr files.
  const std::filesystem::path& dir() const { return dir_.path(); }
  /// True when the full disk is a tmpfs (else a file-size limit: `file_size_limit()`).
  bool tmpfs() const { return full_dir_.mounted; }
  /// Fills the tmpfs to the last byte (a full disk from now on).
  void fill_disk();
  /// Removes the ballast.
  void free_disk();
  /// RLIMIT_FSIZE for ferry when there is no tmpfs and the plan fills the disk, else nothing.
  std::optional<std::uint64_t> file_size_limit() const { return fsize_limit_; }

  /// The oracle's view of the source.
  keyspace dump_source();
  /// The oracle's view of the target, without ferry's marks (counted in `marks`).
  keyspace dump_target(std::size_t& marks);

 private:
  server_options target_options() const;

  /// A tmpfs mounted on `path`, unmounted on destruction (also when the constructor throws).
  struct tmpfs_mount {
    std::filesystem::path path;
    bool mounted = false;
    ~tmpfs_mount();
  };

  const run_plan& plan_;
  bool cluster_;
  temp_dir dir_{"faults"};
  tmpfs_mount full_dir_;  // after dir_: unmounted before the directory is removed
  bool full_ = false;
  std::optional<std::uint64_t> fsize_limit_;
  std::unique_ptr<redis_server> source_;
  std::unique_ptr<redis_server> target_;
  std::unique_ptr<redis_cluster> cluster_target_;
  std::size_t source_keys_ = 0;
  std::set<std::string> existing_;
};

}  // namespace ferry::testing::faults
