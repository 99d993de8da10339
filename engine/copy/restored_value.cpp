#include "engine/copy/restored_value.hpp"

#include <fmt/format.h>

#include <atomic>
#include <random>

#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

asio::awaitable<boost::system::result<bool, protocol::failure>> holds_restored_value(
    link& target, const record& r, const std::array<char, 10>* trailer) {
  protocol::command_buffer probe;
  probe.begin(2);
  // A string written with SET: its value is compared as it is.
  probe.arg(r.kind == record_kind::string ? "GET" : "DUMP");
  probe.arg_ref(r.key);
  probe.begin(2);
  probe.arg("PEXPIRETIME");
  probe.arg_ref(r.key);
  std::vector<protocol::reply> answer;
  if (auto done = co_await target.exec(probe, answer); !done) co_return done.error();
  const protocol::reply& dump = answer[0];
  if (dump.is_error() || dump.is_nil()) co_return false;
  // PEXPIRETIME: -1 for no expiry; an error on servers older than 7, where ABSTTL still set our
  // exact expiry but it cannot be read back exactly, so it is not compared.
  const std::int64_t expiry = answer[1].integer < 0 ? 0 : answer[1].integer;
  if (!answer[1].is_error() && expiry != r.expire_at_ms) co_return false;
  if (trailer == nullptr && dump.text() == r.payload.view()) co_return true;
  if (r.kind == record_kind::string) co_return false;

  const std::string tag = protocol::hash_tag_for(r.slot);
  if (tag.empty()) co_return false;
  // Unique among the writers of this process and of other ferry processes on the same target.
  static const std::uint64_t process_nonce =
      (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  static std::atomic<std::uint64_t> counter{0};
  const std::string scratch = fmt::format("{{{}}}ferry:restore-check:{:x}:{}", tag, process_nonce,
                                          counter.fetch_add(1, std::memory_order_relaxed));
  protocol::command_buffer again;
  again.begin(5);
  again.arg("RESTORE");
  again.arg(scratch);
  // A TTL of a minute: the scratch key goes away even if the connection breaks before the DEL.
  again.arg(std::int64_t{60'000});
  if (trailer != nullptr) {
    again.arg_ref_with_tail(r.payload, std::string_view(trailer->data(), trailer->size()));
  } else {
    again.arg_ref(r.payload);
  }
  again.arg("REPLACE");
  again.push({"DUMP", scratch});
  again.push({"DEL", scratch});
  std::vector<protocol::reply> check;
  if (auto done = co_await target.exec(again, check); !done) co_return done.error();
  co_return !check[0].is_error() && !check[1].is_error() && !check[1].is_nil() &&
      check[1].text() == dump.text();
}

}  // namespace ferry::engine
