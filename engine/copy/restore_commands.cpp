#include "engine/copy/restore_commands.hpp"

#include "engine/verify/verdict.hpp"
#include "engine/verify/verify_sample.hpp"

namespace ferry::engine {

copied_batch sample_copied(std::span<const record* const> written, double fraction) {
  copied_batch batch;
  for (const record* r : written) {
    if (!in_sample(r->key.view(), fraction)) continue;
    // A string read with GET has no DUMP payload: its value's digest goes instead.
    const bool by_value = r->kind == record_kind::string;
    batch.keys.push_back({protocol::bytes::copy_of(r->key.view()),
                          by_value ? sha1_hex(r->payload.view()) : dump_digest(r->payload.view()),
                          r->expire_at_ms > 0 ? r->expire_at_ms : -1, by_value});
    batch.charged_bytes += r->key.size() + copied_key_cost;
  }
  return batch;
}

void append_restore(protocol::command_buffer& commands, const record& r, bool replace,
                    const std::array<char, 10>* trailer) {
  if (r.kind == record_kind::string) {
    commands.begin(3 + (r.expire_at_ms > 0 ? 2 : 0) + (replace ? 0 : 1));
    commands.arg("SET");
    commands.arg_ref(r.key);
    commands.arg_ref(r.payload);
    if (r.expire_at_ms > 0) {
      commands.arg("PXAT");
      commands.arg(r.expire_at_ms);
    }
    if (!replace) commands.arg("NX");
    return;
  }
  commands.begin(replace ? 6 : 5);
  commands.arg("RESTORE");
  commands.arg_ref(r.key);
  commands.arg(r.expire_at_ms);
  if (trailer != nullptr) {
    commands.arg_ref_with_tail(r.payload, std::string_view(trailer->data(), trailer->size()));
  } else {
    commands.arg_ref(r.payload);
  }
  commands.arg("ABSTTL");
  if (replace) commands.arg("REPLACE");
}

}  // namespace ferry::engine
