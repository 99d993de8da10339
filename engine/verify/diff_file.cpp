#include "engine/verify/diff_file.hpp"

namespace ferry::engine {

boost::system::result<std::unique_ptr<diff_file>, std::string> diff_file::open(
    const std::string& path) {
  auto sink = jsonl_sink::open(path, false, "diff file");
  if (!sink) return sink.error();
  return std::unique_ptr<diff_file>(new diff_file(std::move(*sink)));
}

bool diff_file::record(const verdict& v, std::optional<bool> repaired,
                       const std::string& repair_error) {
  if (sink_->path().empty()) return sink_->write({});
  return sink_->write(diff_line(v, repaired, repair_error));
}

bool diff_file::claim(const protocol::bytes& key) {
  const std::lock_guard lock(claimed_mutex_);
  return claimed_.emplace(key.view()).second;
}

}  // namespace ferry::engine
