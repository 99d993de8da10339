// The target's marks and the state file of a copy run (see copy_run.hpp and
// engine/topology/target_guard.hpp).

#include <fmt/format.h>

#include "engine/copy/copy_run.hpp"

namespace ferry::engine::detail {

namespace {

/// Checkpoints kept in memory to go back to when a target node loses keys.
constexpr std::size_t max_history = 64;

}  // namespace

checkpoint copy_run::state_of(const char* status) const {
  checkpoint state;
  state.job = plan_.identity;
  state.job_id = job_id_;
  state.status = status;
  for (std::size_t i = 0; i < plan_.shards.size(); ++i) {
    state.shards.push_back({plan_.shards[i].node.address(), plan_.shards[i].node_id,
                            plan_.shards[i].run_id, book_.position(i).get(),
                            plan_.shards[i].slots});
  }
  // A rescan is not resumed from a cursor: its slots stay moved until it ends.
  state.moved = slots_.moved() | rescanning_;
  if (extension_ != nullptr) state.extension = extension_->state();
  if (plan_.part) state.part_slots = plan_.part->slots;
  return state;
}

/// A resumed job checks that the target still holds what the state file covers; every job
/// then marks the target before its first key.
maybe<void> copy_run::start_guard() {
  auto loss = guard_.check(generation_);
  if (!loss) return loss.error();
  // A node that restarted since the state file was written but kept its mark lost nothing
  // that file covers.
  if (*loss && (*loss)->holds < generation_) {
    lost(**loss, /*during_run=*/false);
    return fail_with(job_error::target_lost, loss_message(**loss, false));
  }
  // The state that holds before any key: resumed from (or nothing, for a fresh job).
  checkpoint start = state_of("running");
  start.generation = generation_;
  history_.push_back(std::move(start));
  return {};
}

/// Saves a checkpoint: looks at the target first (a node that restarted since the last look
/// rewinds the job), then writes the next generation into its marks after every key the
/// checkpoint covers was acknowledged, then the state file. When the target cannot be marked,
/// the previous state file stays: it claims no more than the target is known to hold.
void copy_run::save(const char* status) {
  checkpoint state = state_of(status);  // the positions before the marks are written
  auto loss = guard_.check(generation_);
  if (!loss) return;  // the target is unreachable: the writers will say so
  if (*loss) {
    lost(**loss, true);
    control_.fail(fail_with(job_error::target_lost, loss_message(**loss, true)));
    return;
  }
  if (auto marked = guard_.mark(generation_ + 1); !marked) {
    // A node that cannot be marked (it restarted meanwhile, or is gone) is looked at again at
    // the next save; one that refuses the mark cannot be guarded at all.
    if (protocol::disposition_of(marked.error().code) != protocol::disposition::retry) {
      control_.fail(marked.error());
    }
    return;
  }
  state.generation = ++generation_;
  state.marks = guard_.marks();
  write_state(state);
  history_.push_back(std::move(state));
  if (history_.size() > max_history) history_.erase(history_.begin() + 1);  // keep the start
}

void copy_run::write_state(const checkpoint& state) {
  if (config_.state.path.empty()) return;
  if (auto saved = save_checkpoint(config_.state.path, state); !saved) {
    // The file is replaced by rename, so the one written before is intact, and a resumed job
    // checks the target's marks against it first: resuming from it is safe.
    control_.fail(
        fail_with(job_error::state_file,
                  fmt::format("{}; the state file written before is intact: free space (or fix the "
                              "permissions) there and run the same command with --resume",
                              saved.error())));
  } else {
    saved_at_.store(unix_seconds(), std::memory_order_relaxed);
  }
}

/// A target node lost keys: the job goes back to the newest checkpoint the target still
/// holds in full (or to the start when it holds none), recorded with the nodes as they are now.
void copy_run::lost(const target_loss& loss, bool during_run) {
  checkpoint back;  // the start: no shard has a position, so each is copied from its beginning
  if (during_run && loss.holds > 0) {
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
      if (it->generation <= loss.holds) {
        back = *it;
        break;
      }
    }
  }
  if (back.shards.empty()) back.generation = 0;
  back.job = plan_.identity;
  back.job_id = job_id_;
  back.status = "target_lost";
  back.marks = guard_.marks();
  if (plan_.part) back.part_slots = plan_.part->slots;
  rewound_ = std::move(back);
}

std::string copy_run::loss_message(const target_loss& loss, bool during_run) const {
  const bool state = !config_.state.path.empty();
  const std::string from = rewound_ && !rewound_->shards.empty()
                               ? "the last checkpoint that node still holds"
                               : "the start (nothing this job wrote can be trusted)";
  std::string next;
  if (state) {
    next = fmt::format(
        "The state file now points back to {}: run the same command with --resume to copy "
        "again what was lost, or add --on-target-loss recopy to let ferry do that without "
        "stopping",
        from);
  } else {
    next =
        "ferry cannot tell which keys were lost: run the copy again with --on-existing replace "
        "(or add --on-target-loss recopy to let ferry go back and copy again without stopping), "
        "or repair the target with `ferry verify --repair`";
  }
  return fmt::format("{}{}. {}", loss.description,
                     during_run ? " during the copy" : " since the state file was written", next);
}

}  // namespace ferry::engine::detail
