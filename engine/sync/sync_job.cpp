#include "engine/sync/sync_job.hpp"

#include "engine/sync/sync_extension.hpp"

namespace ferry::engine {

sync_job::sync_job(sync_config config) : config_(std::move(config)) {
  extension_ = std::make_unique<sync_extension>(config_);
  copy_config copy = config_.copy;
  copy.extension = extension_.get();
  copy_ = std::make_unique<copy_job>(std::move(copy));
}

sync_job::~sync_job() = default;

sync_report sync_job::run() { return extension_->finish(copy_->run()); }

sync_progress sync_job::progress() const {
  sync_progress p = extension_->progress();
  p.snapshot = copy_->progress();
  return p;
}

void sync_job::drain() noexcept { copy_->drain(); }

void sync_job::cut_over() noexcept { extension_->request_cutover(); }

}  // namespace ferry::engine
