#include "engine/verify/digest_scripts.hpp"

#include "engine/verify/verdict.hpp"

namespace ferry::engine {

// The estimate of a key's size comes first in both scripts, the same as estimated_bytes():
// a string's length, 64 bytes per element of a collection.
#define FERRY_DIGEST_ESTIMATE                                            \
  "local k = KEYS[1] local t = redis.call('TYPE', k)['ok'] local n = 0 " \
  "if t == 'none' then return false "                                    \
  "elseif t == 'string' then n = redis.call('STRLEN', k) "               \
  "elseif t == 'list' then n = 64 * redis.call('LLEN', k) "              \
  "elseif t == 'hash' then n = 64 * redis.call('HLEN', k) "              \
  "elseif t == 'set' then n = 64 * redis.call('SCARD', k) "              \
  "elseif t == 'zset' then n = 64 * redis.call('ZCARD', k) "             \
  "elseif t == 'stream' then n = 64 * redis.call('XLEN', k) end "        \
  "if n > tonumber(ARGV[1]) then return 'big' end "

const std::string_view dump_digest_script = FERRY_DIGEST_ESTIMATE
    "if t == 'string' and ARGV[4] == '1' then local v = redis.call('GET', k) "
    "  return redis.sha1hex('string|' .. #v .. '||' .. v) end "
    "local d = redis.call('DUMP', k) if not d then return false end "
    "return redis.sha1hex(string.sub(d, 1, -11))";

// The hashed text is "<type>|<lengths of the parts>|<field expiries>|<the parts>": the lengths
// split the parts unambiguously, and the bulk types hand their reply tables over whole (no
// string is built per element: this runs for every key of a cross-version verify). A field's
// expiry is "<its position among the sorted fields>=<ms>". Lua's unpack is limited to a few
// thousand values: HPEXPIRETIME is asked 1000 fields at a time.
const std::string_view canonical_digest_script = FERRY_DIGEST_ESTIMATE
    "local o, l, x = {}, {}, {} "
    "local function put(s) s = tostring(s) o[#o + 1] = s l[#l + 1] = #s end "
    "local function map(a) local m = {} for i = 1, #a, 2 do m[a[i]] = a[i + 1] end return m end "
    "local function whole(r) for i = 1, #r do l[i] = #r[i] end o = r end "
    "if t == 'string' then put(redis.call('GET', k)) "
    "elseif t == 'list' then whole(redis.call('LRANGE', k, 0, -1)) "
    "elseif t == 'set' then local r = redis.call('SMEMBERS', k) table.sort(r) whole(r) "
    "elseif t == 'zset' then local r = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES') "
    "  for i = 2, #r, 2 do local n = tonumber(r[i]) "
    "    if n then r[i] = string.format('%.17g', n) end end whole(r) "
    "elseif t == 'hash' then local r = redis.call('HGETALL', k) local f, m = {}, {} "
    "  for i = 1, #r, 2 do f[#f + 1] = r[i] m[r[i]] = r[i + 1] end table.sort(f) "
    "  for i, name in ipairs(f) do local v = m[name] "
    "    o[2 * i - 1] = name o[2 * i] = v l[2 * i - 1] = #name l[2 * i] = #v end "
    "  if ARGV[2] == '1' then for i = 1, #f, 1000 do local j = math.min(i + 999, #f) "
    "    local e = redis.call('HPEXPIRETIME', k, 'FIELDS', j - i + 1, unpack(f, i, j)) "
    "    for y = 1, #e do if e[y] >= 0 then "
    "      x[#x + 1] = (i + y - 1) .. '=' .. string.format('%d', e[y]) end end end end "
    "elseif t == 'stream' then "
    "  for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do put(e[1]) "
    "    for _, v in ipairs(e[2]) do put(v) end end "
    "  local s = map(redis.call('XINFO', 'STREAM', k)) put(s['length']) "
    "  put(s['last-generated-id']) "
    "  if ARGV[3] == '1' then put(s['max-deleted-entry-id']) put(s['entries-added']) end "
    "  for _, g in ipairs(redis.call('XINFO', 'GROUPS', k)) do local h = map(g) "
    "    put(h['name']) put(h['last-delivered-id']) put(h['pending']) put(h['consumers']) "
    "    if ARGV[3] == '1' then put(h['entries-read']) end "
    "    for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', k, h['name'])) do local u = map(c) "
    "      put(u['name']) put(u['pending']) end "
    "    if h['pending'] > 0 then "
    "      for _, p in ipairs(redis.call('XPENDING', k, h['name'], '-', '+', h['pending'])) do "
    "        put(p[1]) put(p[2]) put(p[4]) end end end "
    "else local d = redis.call('DUMP', k) if not d then return false end "
    "  return redis.sha1hex(string.sub(d, 1, -11)) end "
    "return redis.sha1hex(t .. '|' .. table.concat(l, ',') .. '|' .. table.concat(x, ',') .. "
    "  '|' .. table.concat(o))";

#undef FERRY_DIGEST_ESTIMATE

std::string string_digest(std::string_view value) {
  std::string text = "string|" + std::to_string(value.size()) + "||";
  text.append(value);
  return sha1_hex(text);
}

bool holds_field_ttls(server_version v) noexcept {
  return v.major > 7 || (v.major == 7 && v.minor >= 4);
}

digest_plan plan_digest(server_version source, server_version target) noexcept {
  digest_plan plan;
  plan.canonical = source.major == 0 || !(source == target);
  plan.source_field_ttls = holds_field_ttls(source);
  plan.target_field_ttls = holds_field_ttls(target);
  plan.stream_v7 = source.major >= 7 && target.major >= 7;
  return plan;
}

}  // namespace ferry::engine
