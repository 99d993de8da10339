// Where the RESP reader keeps the bytes of the replies it builds: small strings packed into
// shared chunks, large ones in allocations of their own, and every one alive as long as a reply
// refers to it (a DUMP payload reaches the RESTORE write without a copy).

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/wire/resp_reader.hpp"
#include "tests/unit/resp_streams.hpp"

namespace ferry::protocol {
namespace {

using namespace resp_streams;

bool same_owner(const bytes& a, const bytes& b) {
  return !a.owner().owner_before(b.owner()) && !b.owner().owner_before(a.owner());
}

TEST(resp_reader, bytes_outlive_the_reader_and_later_replies) {
  std::vector<bytes> kept;
  std::vector<std::string> originals;
  {
    std::mt19937_64 rng(3);
    resp_reader reader;
    for (int i = 0; i < 10'000; ++i) {
      const std::string payload = random_payload(rng, i % 100 == 0 ? 20'000 : 1 + rng() % 300);
      reader.feed(bulk(payload) + line('+', std::string("status ").append(std::to_string(i))));
      auto b = reader.next();
      auto s = reader.next();
      ASSERT_TRUE(b.has_value() && b->has_value() && s.has_value() && s->has_value());
      if (i % 1000 == 0) {  // keep a few early ones; the rest die at once
        kept.push_back((*b)->str);
        kept.push_back((*s)->str);
        originals.push_back(payload);
        originals.push_back(std::string("status ").append(std::to_string(i)));
      }
    }
  }  // the reader, and every chunk nothing else refers to, is gone
  ASSERT_EQ(kept.size(), originals.size());
  for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], originals[i]) << i;
}

TEST(resp_reader, small_strings_share_a_chunk_and_large_ones_do_not) {
  const std::string large(resp_reader::own_allocation_bytes, 'L');
  const auto r =
      parse(bulk("aaaaa") + bulk("bbbbbbb") + "+fine\r\n" + bulk(large) + bulk("ccc"), 1 << 20);
  ASSERT_EQ(r.size(), 5u);
  const bytes& a = r[0].str;
  const bytes& b = r[1].str;
  const bytes& status = r[2].str;
  const bytes& big = r[3].str;
  const bytes& c = r[4].str;
  // Packed back to back: the large string took no room in the chunk.
  EXPECT_EQ(a.data() + a.size(), b.data());
  EXPECT_EQ(b.data() + b.size(), status.data());
  EXPECT_EQ(status.data() + status.size(), c.data());
  EXPECT_TRUE(same_owner(a, b));
  EXPECT_TRUE(same_owner(a, c));
  EXPECT_FALSE(same_owner(a, big));
  EXPECT_EQ(big, large);
  // The large string's allocation is its own: only it (and the copy in `r`) keeps it.
  EXPECT_EQ(big.owner().use_count(), 1);
}

TEST(resp_reader, starts_a_new_chunk_when_the_current_one_is_full) {
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += bulk(std::string(1000, static_cast<char>('a' + i % 26)));
  const auto r = parse(stream, 1 << 20);
  ASSERT_EQ(r.size(), 100u);
  const std::size_t per_chunk = resp_reader::chunk_bytes / 1000;  // 65 strings fit in 64 KiB
  std::set<const void*> owners;
  for (std::size_t i = 0; i < r.size(); ++i) {
    owners.insert(r[i].str.owner().get());
    EXPECT_EQ(r[i].str, std::string(1000, static_cast<char>('a' + i % 26)));
    if (i % per_chunk != 0) {
      EXPECT_EQ(r[i - 1].str.data() + 1000, r[i].str.data()) << i;
    }
  }
  EXPECT_EQ(owners.size(), 2u);
  EXPECT_FALSE(same_owner(r[0].str, r[per_chunk].str));
}

}  // namespace
}  // namespace ferry::protocol
