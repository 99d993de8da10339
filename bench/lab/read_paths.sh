#!/usr/bin/env bash
# What each way of reading string keys costs the source (issue 13, Deliver 1: "measure the
# alternatives and keep what is cheapest for the source"), without ferry in the way: the same
# 1M x 100 B strings, with and without expiries, read by each access pattern as one pipelined
# stream (redis-cli --pipe), the server's user+sys CPU from /proc before and after.
#
#   bench/lab/read_paths.sh [--keys N] [--batch B] [--repeats R]
#
# Patterns (per key unless said):
#   dump+pexpiretime   DUMP, PEXPIRETIME            (the DUMP path)
#   get+pexpiretime    GET, PEXPIRETIME             (ferry's string path where keys have expiries)
#   get                GET                          (ferry's path where INFO proves no expiries)
#   script per batch   one EVALSHA per B keys returning each key's value and PEXPIRETIME
#   scan               SCAN COUNT B over the keyspace (what any pass pays to find the keys)
#   scan type string   SCAN COUNT B TYPE string     (a strings-only pass)
# Prints the source's CPU seconds per million keys of each (median of R runs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lab/servers.sh
source "$here/servers.sh"

keys=1000000
batch=1000
repeats=3
while (($#)); do
  case $1 in
    --keys) keys=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    *) echo "read_paths.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "read_paths.sh: needs redis-server (cmake/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/ferry-read-paths.XXXXXX)
trap 'lab_stop_servers; rm -rf "$work"' EXIT
port=$(lab_free_port)
lab_start_plain "$work/s" "$port" >/dev/null

script='local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.pcall("GET", k)
  if type(v) ~= "string" then v = "" end
  out[2 * i - 1] = v
  out[2 * i] = redis.call("PEXPIRETIME", k)
end
return out'
sha=$(lab_cli "$port" SCRIPT LOAD "$script")

# RESP streams, generated once: the fill (with and without expiries) and each pattern's reads.
python3 - "$work" "$keys" "$batch" "$sha" <<'EOF'
import os, random, sys
work, keys, batch, sha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
rng = random.Random(7)
names = [b"s:%08d" % i for i in range(keys)]
with open(os.path.join(work, "fill-plain.resp"), "wb") as plain, \
     open(os.path.join(work, "fill-expiring.resp"), "wb") as expiring:
    for n in names:
        value = rng.randbytes(100)
        plain.write(cmd(b"SET", n, value))
        expiring.write(cmd(b"SET", n, value, b"EX", 86400))
def write(name, commands):
    with open(os.path.join(work, name + ".resp"), "wb") as f:
        for c in commands:
            f.write(c)
write("dump+pexpiretime", (cmd(c, n) for n in names for c in (b"DUMP", b"PEXPIRETIME")))
write("get+pexpiretime", (cmd(c, n) for n in names for c in (b"GET", b"PEXPIRETIME")))
write("get", (cmd(b"GET", n) for n in names))
write("script per batch", (cmd(b"EVALSHA", sha, len(names[i:i + batch]), *names[i:i + batch])
                           for i in range(0, keys, batch)))
EOF

pipe() { redis-cli -h 127.0.0.1 -p "$port" --pipe <"$1" >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# CPU seconds per million keys that running "$@" cost the server.
cost() {
  local a b
  a=$(lab_cpu_seconds "$port")
  "$@"
  b=$(lab_cpu_seconds "$port")
  awk -v a="$a" -v b="$b" -v k="$keys" 'BEGIN {printf "%.2f", (b - a) * 1e6 / k}'
}
# Walks the keyspace with SCAN (optionally TYPE string), batch by batch, in one connection.
scan_all() {
  python3 - "$port" "$batch" "$@" <<'EOF'
import socket, sys
port, batch, extra = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    if t == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    return rest
cursor = b"0"
while True:
    args = [b"SCAN", cursor, b"COUNT", batch.encode()] + [a.encode() for a in extra]
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    cursor, _ = read()
    if cursor == b"0":
        break
EOF
}

echo "== read paths: $keys x 100 B strings, batches of $batch, redis-server $(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2), $repeats runs"
printf '| dataset | pattern | source CPU s per million keys (runs) | median |\n| --- | --- | --- | ---: |\n'
for dataset in plain expiring; do
  lab_cli "$port" FLUSHALL >/dev/null
  pipe "$work/fill-$dataset.resp"
  [[ $(lab_cli "$port" DBSIZE) == "$keys" ]] || { echo "fill failed" >&2; exit 1; }
  for pattern in "dump+pexpiretime" "get+pexpiretime" "get" "script per batch" "scan" "scan type string"; do
    runs=()
    for ((r = 1; r <= repeats; r++)); do
      lab_wait_quiet 5 >/dev/null || true
      case $pattern in
        scan) runs+=("$(cost scan_all)") ;;
        "scan type string") runs+=("$(cost scan_all TYPE string)") ;;
        *) runs+=("$(cost pipe "$work/$pattern.resp")") ;;
      esac
    done
    printf '| %s | %s | %s | %s |\n' "$dataset" "$pattern" "${runs[*]}" \
      "$(printf '%s\n' "${runs[@]}" | median)"
  done
done
