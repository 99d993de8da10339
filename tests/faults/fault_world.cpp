#include "tests/faults/fault_world.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"

namespace ferry::testing::faults {
namespace {

using namespace std::chrono_literals;

/// Where ferry's marks live on a target (engine/topology/target_guard.hpp; not included: the
/// suite judges ferry from the outside).
constexpr std::string_view mark_prefix = "ferry:mark:";

/// The tmpfs for one output file: big enough for the failed-keys file of a plan, small enough to
/// fill in a moment.
constexpr const char* tmpfs_size = "size=4m";

/// Removes what a server would come back from.
void remove_data_files(const redis_server& server) {
  std::error_code ignored;
  std::filesystem::remove(server.dir() / "dump.rdb", ignored);
  std::filesystem::remove_all(server.dir() / "appendonlydir", ignored);
}

}  // namespace

fault_world::fault_world(const run_plan& plan)
    : plan_(plan), cluster_(plan.cluster_target), full_dir_{dir_ / "full"} {
  if (plan_.has(fault_kind::disk_full)) {
    std::filesystem::create_directories(full_dir_.path);
    full_dir_.mounted =
        ::mount("tmpfs", full_dir_.path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_size) == 0;
    if (!full_dir_.mounted) {
      // No mount here (not root, or a container without CAP_SYS_ADMIN): ferry gets a file-size
      // limit instead, which fails its writes with EFBIG once a file passes it.
      const auto& step =
          *std::find_if(plan_.faults.begin(), plan_.faults.end(),
                        [](const fault_step& s) { return s.kind == fault_kind::disk_full; });
      fsize_limit_ = step.file == output_file::failed_keys ? std::uint64_t{60} * plan_.existing
                                                           : std::uint64_t{256} + plan_.seed % 2048;
    }
  }

  server_options source_options;
  source_options.label = "faults-source";
  source_ = std::make_unique<redis_server>(source_options);
  {
    sync_client client = source_->client();
    dataset_options every;
    every.seed = plan_.seed;
    fill_every_type(client, every);
    fill_strings(client, plan_.strings, plan_.value_size, plan_.seed, "str:");
    source_keys_ = static_cast<std::size_t>(client.checked({"DBSIZE"}).integer);
    // The snapshot a persisted restart comes back from (the source takes no writes afterwards).
    client.checked({"SAVE"});
  }

  if (cluster_) {
    cluster_options options;
    options.node = target_options();
    cluster_target_ = std::make_unique<redis_cluster>(options);
  } else {
    target_ = std::make_unique<redis_server>(target_options());
  }
  if (plan_.existing != 0) {
    std::vector<std::vector<std::string>> writes;
    for (std::size_t i = 0; i < plan_.existing; ++i) {
      // Spread over the strings; each holds another value than the source's.
      std::string key = fmt::format("str:{}", (i * 7919) % plan_.strings);
      if (!existing_.insert(key).second) continue;
      writes.push_back({"SET", key, "already here"});
    }
    if (cluster_) {
      cluster_client client = cluster_target_->client();
      client.pipeline(writes);
    } else {
      sync_client client = target_->client();
      client.pipeline(writes);
    }
  }
}

fault_world::~fault_world() = default;

fault_world::tmpfs_mount::~tmpfs_mount() {
  if (mounted) ::umount2(path.c_str(), MNT_DETACH);
}

server_options fault_world::target_options() const {
  server_options options;
  options.label = "faults-target";
  if (plan_.has(fault_kind::target_restart_aof)) {
    // Every acknowledged write is on disk before its reply: the node comes back with all of it.
    options.extra_args = {"--appendonly", "yes", "--appendfsync", "always"};
  }
  // Otherwise an RDB file exists only after target_restart_rdb's SAVE (the harness passes
  // --save "", so nothing is saved by itself).
  return options;
}

redis_server& fault_world::target_node(int i) const {
  if (!cluster_) return *target_;
  return *cluster_target_->masters().at(static_cast<std::size_t>(i));
}

std::string fault_world::target_url() const {
  return cluster_ ? cluster_target_->url() : target_->url();
}

std::vector<std::string> fault_world::addresses() const {
  std::vector<std::string> all{fmt::format("127.0.0.1:{}", source_->port())};
  if (cluster_) {
    for (const auto& node : cluster_target_->masters()) {
      all.push_back(fmt::format("127.0.0.1:{}", node->port()));
    }
  } else {
    all.push_back(fmt::format("127.0.0.1:{}", target_->port()));
  }
  return all;
}

std::optional<std::uint64_t> fault_world::target_dbsize() {
  std::uint64_t total = 0;
  for (int i = 0; i < target_nodes(); ++i) {
    try {
      client_options options = target_node(i).connect_options();
      options.timeout = 300ms;
      sync_client client(options);
      const reply size = client.command({"DBSIZE"});
      if (size.kind != reply_kind::integer) return std::nullopt;
      total += static_cast<std::uint64_t>(size.integer);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return total;
}

void fault_world::kill_target(int i) { target_node(i).stop(); }

void fault_world::start_target(int i, comeback how) {
  redis_server& node = target_node(i);
  if (how == comeback::empty) remove_data_files(node);
  node.restart();
  if (cluster_) cluster_target_->wait_ready(30s);
}

void fault_world::kill_source() { source_->stop(); }

void fault_world::start_source(comeback how) {
  if (how == comeback::empty) remove_data_files(*source_);
  source_->restart();
}

std::optional<std::uint64_t> fault_world::target_marks() {
  std::uint64_t total = 0;
  for (int i = 0; i < target_nodes(); ++i) {
    try {
      client_options options = target_node(i).connect_options();
      options.timeout = 1s;
      sync_client client(options);
      const reply keys = client.command({"KEYS", std::string(mark_prefix) + "*"});
      if (keys.kind != reply_kind::array) return std::nullopt;
      total += keys.elements.size();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return total;
}

void fault_world::settle() {
  source_->resume();
  for (int i = 0; i < target_nodes(); ++i) target_node(i).resume();
  if (cluster_) cluster_target_->wait_ready(60s);
}

std::filesystem::path fault_world::path_of(output_file file) const {
  const bool full =
      full_dir_.mounted &&
      std::any_of(plan_.faults.begin(), plan_.faults.end(), [file](const fault_step& s) {
        return s.kind == fault_kind::disk_full && s.file == file;
      });
  const std::filesystem::path base = full ? full_dir_.path : dir_.path();
  switch (file) {
    case output_file::state:
      return base / "state.json";
    case output_file::report:
      return base / "report.json";
    case output_file::failed_keys:
      return base / "failed.jsonl";
  }
  return base;
}

void fault_world::fill_disk() {
  if (!full_dir_.mounted || full_) return;
  full_ = true;
  const int fd = ::open((full_dir_.path / "ballast").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("faults: cannot create the ballast file");
  const std::vector<char> block(64 * 1024, 'x');
  // Big blocks first, then smaller ones, until not even one byte fits.
  for (std::size_t size = block.size(); size != 0; size /= 2) {
    while (::write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
    }
  }
  ::close(fd);
}

void fault_world::free_disk() {
  if (!full_) return;
  full_ = false;
  std::error_code ignored;
  std::filesystem::remove(full_dir_.path / "ballast", ignored);
}

keyspace fault_world::dump_source() {
  sync_client client = source_->client();
  return dump_keyspace(client);
}

keyspace fault_world::dump_target(std::size_t& marks) {
  keyspace all;
  if (cluster_) {
    cluster_client client = cluster_target_->client();
    all = dump_keyspace(client);
  } else {
    sync_client client = target_->client();
    all = dump_keyspace(client);
  }
  keyspace data;
  marks = 0;
  for (auto& record : all) {
    if (record.key.compare(0, mark_prefix.size(), mark_prefix) == 0) {
      ++marks;
    } else {
      data.push_back(std::move(record));
    }
  }
  return data;
}

}  // namespace ferry::testing::faults
