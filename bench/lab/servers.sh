# Shell helpers shared by bench/lab/run.sh and cli/demo.sh (source this file; it defines
# functions only). Servers started here are remembered in LAB_PIDS; call lab_stop_servers from
# an EXIT trap so that they never outlive the script.
#
#   lab_make_certs DIR             throwaway CA + server cert for localhost/127.0.0.1 (openssl CLI)
#   lab_free_port                  a free loopback port whose cluster-bus port (+10000) is free too
#   lab_port_in_use PORT           true when something accepts connections on 127.0.0.1:PORT
#   lab_start_plain DIR PORT [ARGS...]        plain redis-server on 127.0.0.1:PORT
#   lab_start_tls DIR PORT CERTDIR [ARGS...]  TLS-only redis-server on PORT (like Azure Managed Redis)
#   lab_start_cluster DIR N        N-master cluster on free ports; sets LAB_CLUSTER_PORTS
#   lab_cli PORT ARGS...           redis-cli against a plain server
#   lab_tls_cli PORT CERTDIR ARGS...  redis-cli over TLS (verifies the certificate)
#   lab_digest PORT...             DEBUG DIGEST of one server, or the digest one server holding
#                                  the union of several cluster masters' keys would report
#   lab_stop_servers               SIGTERM, then SIGKILL, every server started here
#   lab_cpu_seconds PORT...        user+sys CPU seconds used so far by the servers on PORTs
#   lab_wait_quiet                 waits (at most ~2 min) until other processes leave the cores idle

LAB_PIDS=()
LAB_CLUSTER_PORTS=()
declare -A LAB_PID_OF_PORT=()

lab_make_certs() {
  local dir=$1
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=ferry lab CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      "extendedKeyUsage=serverAuth,clientAuth" "basicConstraints=CA:FALSE" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 600 ca.key server.key
  )
  [[ -s $dir/server.crt ]] || { echo "cannot create TLS certificates in $dir" >&2; return 1; }
}

lab_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

lab_free_port() {
  local port attempt
  for attempt in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! lab_port_in_use "$port" && ! lab_port_in_use $((port + 10000)); then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

lab_cli() {
  local port=$1
  shift
  redis-cli -h 127.0.0.1 -p "$port" "$@"
}

lab_tls_cli() {
  local port=$1 certs=$2
  shift 2
  redis-cli -h localhost -p "$port" --tls --cacert "$certs/ca.crt" "$@"
}

# Waits (at most ~10 s) until the server answers PING; $1 = pid, rest = the client command.
lab_wait_ready() {
  local pid=$1
  shift
  local i
  for i in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if [[ $("$@" PING 2>/dev/null) == PONG ]]; then return 0; fi
    sleep 0.1
  done
  return 1
}

lab_start_plain() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --enable-debug-command yes --dir "$dir" --logfile "$dir/redis.log" "$@" &
  local pid=$!
  LAB_PIDS+=("$pid")
  LAB_PID_OF_PORT[$port]=$pid
  if ! lab_wait_ready "$pid" lab_cli "$port"; then
    echo "redis-server on port $port did not start; its log:" >&2
    tail -n 20 "$dir/redis.log" >&2 || true
    return 1
  fi
}

lab_start_tls() {
  local dir=$1 port=$2 certs=$3
  shift 3
  mkdir -p "$dir"
  redis-server --port 0 --tls-port "$port" --tls-cert-file "$certs/server.crt" \
    --tls-key-file "$certs/server.key" --tls-ca-cert-file "$certs/ca.crt" \
    --tls-auth-clients no --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --enable-debug-command yes --dir "$dir" --logfile "$dir/redis.log" "$@" &
  local pid=$!
  LAB_PIDS+=("$pid")
  LAB_PID_OF_PORT[$port]=$pid
  if ! lab_wait_ready "$pid" lab_tls_cli "$port" "$certs"; then
    echo "TLS redis-server on port $port did not start; its log:" >&2
    tail -n 20 "$dir/redis.log" >&2 || true
    return 1
  fi
}

lab_start_cluster() {
  local dir=$1 masters=$2
  shift 2
  LAB_CLUSTER_PORTS=()
  local i port addresses=()
  for i in $(seq 1 "$masters"); do
    port=$(lab_free_port) || return 1
    lab_start_plain "$dir/node$i" "$port" --cluster-enabled yes \
      --cluster-config-file "$dir/node$i/nodes.conf" --cluster-node-timeout 5000 "$@" || return 1
    LAB_CLUSTER_PORTS+=("$port")
    addresses+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes \
    >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; return 1; }
  for i in $(seq 1 100); do
    local ok=1
    for port in "${LAB_CLUSTER_PORTS[@]}"; do
      lab_cli "$port" CLUSTER INFO | grep -q 'cluster_state:ok' || ok=0
    done
    ((ok)) && return 0
    sleep 0.1
  done
  echo "the cluster on ports ${LAB_CLUSTER_PORTS[*]} did not reach cluster_state:ok" >&2
  return 1
}

# DEBUG DIGEST. With several ports (the masters of a cluster), combines them into the digest of
# one server holding all their keys: Redis XORs per-key digests onto a seed (SHA1 of 20 zero
# bytes, for db 0), so combined = seed ^ XOR over non-empty masters of (digest ^ seed).
# For a TLS server, pass "tls:PORT:CERTDIR".
lab_digest() {
  if (($# == 1)); then
    lab_digest_one "$1"
    return
  fi
  local seed zeros=0000000000000000000000000000000000000000
  seed=$(head -c 20 /dev/zero | openssl dgst -sha1 -r | cut -c1-40)
  local combined=() any=0 chunk digest
  for chunk in 0 1 2 3 4; do combined[chunk]=0; done
  local port
  for port in "$@"; do
    digest=$(lab_digest_one "$port")
    [[ $digest == "$zeros" ]] && continue
    any=1
    for chunk in 0 1 2 3 4; do
      combined[chunk]=$((combined[chunk] ^ 16#${digest:chunk*8:8} ^ 16#${seed:chunk*8:8}))
    done
  done
  if ((!any)); then
    echo "$zeros"
    return
  fi
  for chunk in 0 1 2 3 4; do
    printf '%08x' $((combined[chunk] ^ 16#${seed:chunk*8:8}))
  done
  echo
}

lab_digest_one() {
  local where=$1
  if [[ $where == tls:* ]]; then
    local rest=${where#tls:}
    lab_tls_cli "${rest%%:*}" "${rest#*:}" DEBUG DIGEST
  else
    lab_cli "$where" DEBUG DIGEST
  fi
}

lab_stop_servers() {
  local pid
  for pid in "${LAB_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local i
  for i in $(seq 1 50); do
    local alive=0
    for pid in "${LAB_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${LAB_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${LAB_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LAB_PIDS=()
}

lab_cpu_seconds() {
  local port total=0 ticks
  ticks=$(getconf CLK_TCK)
  for port in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/${LAB_PID_OF_PORT[$port]}/stat")))
  done
  awk -v t="$total" -v hz="$ticks" 'BEGIN {printf "%.2f\n", t / hz}'
}

# Busy and idle jiffies of the whole machine.
lab_machine_ticks() {
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat
}

# On a shared machine other processes (builds, tests) compete for the cores and make figures
# noisy. Waits until the machine is at least 85 % idle over one second, for at most $1 seconds
# (default 120); returns 1 (after saying so) when it never was.
lab_wait_quiet() {
  local limit=${1:-120} waited=0 b0 i0 b1 i1
  while ((waited < limit)); do
    read -r b0 i0 < <(lab_machine_ticks)
    sleep 1
    read -r b1 i1 < <(lab_machine_ticks)
    if (((i1 - i0) * 100 >= 85 * ((b1 - b0) + (i1 - i0)))); then return 0; fi
    ((waited == 0)) && echo "   (other processes are using the CPUs; waiting up to ${limit} s for quiet)"
    waited=$((waited + 1))
  done
  echo "   warning: the machine stayed busy; the figures of this run are noisy"
  return 1
}
