#!/usr/bin/env python3
"""Regenerates the RDB fixtures in this folder from real servers (run by hand; the unit tests
only read what it wrote).

For each server version found (Redis 5.0, 6.2, 7.4 and Valkey 8.0 under
$FERRY_TEST_SERVERS or ../shared/servers, and Debian's redis-server 7.0), it starts the server
on a free loopback port in a temporary directory, writes keys of every type in each encoding
(small and big, by tuning the *-max-listpack/ziplist-* settings and the quicklist packed
threshold), reads each key back with type commands (the independent oracle), DUMPs it, SAVEs,
and writes <version>/dump.rdb and <version>/keys.txt:

  key <hex>            one block per key, in any order
  type <TYPE> <OBJECT ENCODING>
  db <n>
  expire <absolute ms, 0 = none>
  payload <hex DUMP payload>
  item <hex>...        the canonical value (see canonical() below)
  end

Usage: tests/data/rdb/generate.py [version...]
"""
import os, socket, subprocess, sys, tempfile, time, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.environ.get("FERRY_TEST_SERVERS",
                         os.path.join(HERE, "..", "..", "..", "..", "shared", "servers"))
VERSIONS = {
    "5.0": os.path.join(SERVERS, "redis-5.0.14", "bin", "redis-server"),
    "6.2": os.path.join(SERVERS, "redis-6.2.16", "bin", "redis-server"),
    "7.0": "/usr/bin/redis-server",
    "7.4": os.path.join(SERVERS, "redis-7.4.1", "bin", "redis-server"),
    "valkey-8.0": os.path.join(SERVERS, "valkey-8.0.1", "bin", "valkey-server"),
}


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self._reply()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def at(version):
    return tuple(int(x) for x in version.replace("valkey-8.0", "7.2").split("."))


def fill(c, version):
    v = at(version)
    c("CONFIG", "SET", "hash-max-ziplist-entries", "128")
    c("CONFIG", "SET", "zset-max-ziplist-entries", "128")
    c("CONFIG", "SET", "set-max-intset-entries", "512")
    c("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    if v >= (7, 0):
        c("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "200")
    # strings: int, negative int, embstr, raw, LZF-compressible, over-32-bit number, empty, binary
    c("SET", "s:int", "12345")
    c("SET", "s:neg", "-7")
    c("SET", "s:int8", "100")
    c("SET", "s:int16", "-30000")
    c("SET", "s:big", "12345678901")
    c("SET", "s:embstr", "hello world")
    c("SET", "s:raw", bytes(range(256)) * 2)
    c("SET", "s:lzf", b"abcdefgh" * 300)
    c("SET", "s:empty", "")
    c("SET", b"s:\x00bin\r\n", b"\xff\x00\x01")
    c("SET", "s:ttl", "expiring", "PX", "3600000")
    # lists: small (ziplist/listpack), long (many nodes), ints, big elements (plain nodes 7.0+)
    c("RPUSH", "l:small", "a", "b", "1", "-2", "300000", "x" * 40)
    c("RPUSH", "l:long", *[("item-%d" % i) * (1 + i % 5) for i in range(600)])
    c("RPUSH", "l:lzf", *["z" * 120 for _ in range(40)])
    c("RPUSH", "l:plain", "small", "p" * 300, "q" * 5000, "tail")
    c("RPUSH", "l:ints", *[str(i * 7919 - 100000) for i in range(200)])
    # sets: intset (16/32/64-bit), listpack (7.2+), hashtable
    c("SADD", "set:int16", *[str(i) for i in range(-50, 50)])
    c("SADD", "set:int64", "1", "-9223372036854775808", "9223372036854775807", "4294967296")
    c("SADD", "set:small", "apple", "banana", "cherry", "42")
    c("SADD", "set:big", *["member-%d" % i for i in range(700)])
    # zsets: small (ziplist/listpack), big (skiplist), infinities and fractions
    c("ZADD", "z:small", "1", "one", "2.5", "two", "-3", "minus", "inf", "top", "-inf", "bottom",
      "0.1", "tenth", "1e20", "big")
    c("ZADD", "z:big", *sum([[str(i / 3.0), "m%d" % i] for i in range(300)], []))
    c("ZADD", "z:bigmember", "5", "w" * 100)
    # hashes: small (ziplist/listpack), big (hashtable), long value (hashtable by size)
    c("HSET", "h:small", "f1", "v1", "f2", "22", "num", "-5")
    c("HSET", "h:big", *sum([["field-%d" % i, "value-%d" % i] for i in range(300)], []))
    c("HSET", "h:longval", "f", "v" * 100, "g", "short")
    if v >= (7, 4) and not version.startswith("valkey"):
        c("HSET", "h:ttl:small", "a", "1", "b", "2", "c", "3")
        c("HPEXPIREAT", "h:ttl:small", str(int(time.time() * 1000) + 7200000), "FIELDS", "2", "a", "c")
        c("HSET", "h:ttl:big", *sum([["k%d" % i, "v%d" % i] for i in range(200)], []))
        c("HPEXPIREAT", "h:ttl:big", str(int(time.time() * 1000) + 9000000), "FIELDS", "3", "k1", "k50", "k199")
    # streams: small; big with deleted entries, varying fields, groups, consumers, pending
    c("XADD", "x:small", "1-1", "f", "v")
    c("XADD", "x:small", "1-2", "f", "w", "g", "12")
    for i in range(1, 250):
        fields = ["name", "n%d" % i, "count", str(i)] if i % 7 else ["other", "o" * (i % 30)]
        c("XADD", "x:big", "%d-%d" % (1000 + i, i % 3), *fields)
    c("XDEL", "x:big", "1005-2", "1010-1")
    c("XGROUP", "CREATE", "x:big", "g1", "0")
    c("XGROUP", "CREATE", "x:big", "g2", "$")
    c("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "x:big", ">")
    c("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "x:big", ">")
    c("XACK", "x:big", "g1", "1001-1")
    c("XGROUP", "CREATECONSUMER", "x:big", "g2", "idle") if v >= (6, 2) else None
    c("XADD", "x:empty", "5-5", "a", "b")
    c("XDEL", "x:empty", "5-5")
    # expiry and a second database
    c("SET", "s:ttl2", "later")
    c("PEXPIREAT", "s:ttl2", str(int(time.time() * 1000) + 86400000))
    c("SELECT", "1")
    c("SET", "db1:key", "in db one")
    c("RPUSH", "db1:list", "x", "y")
    c("SELECT", "0")
    if v >= (7, 0):
        c("FUNCTION", "LOAD", "#!lua name=ferrylib\nredis.register_function('ferry_hello', function() return 'hello' end)")


def hx(b):
    return (b if isinstance(b, bytes) else str(b).encode()).hex()


def canonical(c, key, t, version):
    v = at(version)
    if t == "string":
        return [hx(c("GET", key))]
    if t == "list":
        return [hx(e) for e in c("LRANGE", key, "0", "-1")]
    if t == "set":
        return sorted(hx(m) for m in c("SMEMBERS", key))
    if t == "zset":
        r = c("ZRANGE", key, "0", "-1", "WITHSCORES")
        out = []
        for m, s in zip(r[0::2], r[1::2]):
            out.append(hx(m) + " " + struct.pack("<d", float(s)).hex())
        return sorted(out)
    if t == "hash":
        r = c("HGETALL", key)
        out = []
        for f, val in zip(r[0::2], r[1::2]):
            exp = 0
            if v >= (7, 4) and not version.startswith("valkey"):
                exp = c("HPEXPIRETIME", key, "FIELDS", "1", f)[0]
                exp = exp if exp > 0 else 0
            out.append("%s %s %d" % (hx(f), hx(val), exp))
        return sorted(out)
    if t == "stream":
        out = []
        for eid, fields in c("XRANGE", key, "-", "+"):
            out.append("e %s %s" % (eid.decode(), " ".join(hx(f) for f in fields)))
        info = c("XINFO", "STREAM", key)
        d = dict(zip(info[0::2], info[1::2]))
        out.append("m %d %s" % (d[b"length"], d[b"last-generated-id"].decode()))
        if v >= (7, 0):
            out.append("m2 %s %s %d" % (d[b"recorded-first-entry-id"].decode(),
                                        d[b"max-deleted-entry-id"].decode(), d[b"entries-added"]))
        for g in c("XINFO", "GROUPS", key):
            gd = dict(zip(g[0::2], g[1::2]))
            name = gd[b"name"]
            line = "g %s %s" % (hx(name), gd[b"last-delivered-id"].decode())
            if v >= (7, 0):
                er = gd[b"entries-read"]
                line += " %d" % (er if er is not None else -1)
            out.append(line)
            for cons in c("XINFO", "CONSUMERS", key, name):
                cd = dict(zip(cons[0::2], cons[1::2]))
                out.append("c %s %s %d" % (hx(name), hx(cd[b"name"]), cd[b"pending"]))
            for pid, owner, _idle, count in c("XPENDING", key, name, "-", "+", "1000"):
                out.append("p %s %s %s %d" % (hx(name), pid.decode(), hx(owner), count))
        return out
    raise RuntimeError("type " + t)


def generate(version, binary):
    out_dir = os.path.join(HERE, version)
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ferry-rdb-fixture-")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
            "--appendonly", "no", "--dbfilename", "dump.rdb", "--daemonize", "no"]
    if at(version) >= (7, 0):
        args += ["--enable-debug-command", "yes"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = Client(port)
                c("PING")
                break
            except OSError:
                time.sleep(0.05)
        fill(c, version)
        blocks = []
        for db in (0, 1):
            c("SELECT", str(db))
            for key in sorted(c("KEYS", "*")):
                t = c("TYPE", key).decode()
                enc = c("OBJECT", "ENCODING", key).decode()
                pexp = c("PEXPIRETIME", key) if at(version) >= (7, 0) else None
                if pexp is None:
                    pttl = c("PTTL", key)
                    pexp = 0 if pttl < 0 else int(time.time() * 1000) + pttl
                pexp = max(pexp, 0)
                payload = c("DUMP", key)
                items = canonical(c, key, t, version)
                blocks.append("key %s\ntype %s %s\ndb %d\nexpire %d\npayload %s\n%send\n" % (
                    hx(key), t, enc, db, pexp, payload.hex(),
                    "".join("item %s\n" % i for i in items)))
        c("SELECT", "0")
        c("SAVE")
        shutil.copy(os.path.join(tmp, "dump.rdb"), os.path.join(out_dir, "dump.rdb"))
        with open(os.path.join(out_dir, "keys.txt"), "w") as f:
            f.write("".join(blocks))
        print("%s: %d keys, dump.rdb %d bytes" % (version, len(blocks),
                                                   os.path.getsize(os.path.join(out_dir, "dump.rdb"))))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    wanted = sys.argv[1:] or list(VERSIONS)
    for version in wanted:
        binary = VERSIONS[version]
        if not os.path.exists(binary):
            print("skipped: %s not found at %s (set FERRY_TEST_SERVERS)" % (version, binary))
            continue
        generate(version, binary)
