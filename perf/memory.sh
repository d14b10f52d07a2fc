#!/usr/bin/env bash
# perf/memory.sh — bytes per key: loads N keys (`key:0000000` ... with values of the given sizes) into
# NativeKv, redis-server and Garnet, one server at a time, and reports used_memory and RSS deltas per
# key. Usage: perf/memory.sh [--keys N] [--sizes "16 100 1024"] [--only nativekv,redis,garnet]
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=1000000
SIZES="16 100 1024"
ONLY="nativekv,redis,garnet"
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "memory.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PORT=16390
GARNET=.tools/garnet/garnet-server
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

gen() { # gen SIZE > file: N SETs in RESP
  python3 - "$KEYS" "$1" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
v = b"x" * size
out = sys.stdout.buffer
hdr = b"*3\r\n$3\r\nSET\r\n$11\r\n"
tail = b"\r\n$" + str(size).encode() + b"\r\n" + v + b"\r\n"
buf = []
for i in range(n):
    buf.append(hdr + b"key:%07d" % i + tail)
    if len(buf) == 10000:
        out.write(b"".join(buf)); buf = []
out.write(b"".join(buf))
PY
}
rss() { awk '/^VmRSS/{print $2*1024}' /proc/$1/status; }
used() { redis-cli -p $PORT info memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
start() {
  case "$1" in
    nativekv) bin/nativekv --port $PORT --save "" --appendonly no >"$tmp/log" 2>&1 & ;;
    redis) redis-server --port $PORT --save "" --appendonly no >"$tmp/log" 2>&1 & ;;
    garnet) DOTNET_ROLL_FORWARD=Major "$GARNET" --port $PORT --bind 127.0.0.1 >"$tmp/log" 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "memory.sh: $1 did not start" >&2; cat "$tmp/log" >&2; return 1
}
echo "# bytes per key: $KEYS keys named key:0000000.., $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "| server | value bytes | used_memory/key | RSS/key | idle RSS |"
echo "|---|---|---|---|---|"
for size in $SIZES; do
  gen "$size" > "$tmp/load.resp"
  for server in ${ONLY//,/ }; do
    [ "$server" = garnet ] && [ ! -x "$GARNET" ] && { echo "| garnet | $size | (not installed: run perf/compare.sh once) | | |"; continue; }
    start "$server" || continue
    sleep 0.5
    r0=$(rss $pid); u0=$(used || echo 0)
    redis-cli -p $PORT --pipe < "$tmp/load.resp" >/dev/null
    sleep 1
    r1=$(rss $pid); u1=$(used || echo 0)
    n=$(redis-cli -p $PORT dbsize)
    if [ "$n" != "$KEYS" ]; then echo "memory.sh: $server holds $n keys, expected $KEYS" >&2; fi
    printf "| %s | %s | %s | %s | %s MB |\n" "$server" "$size" \
      "$([ -n "$u1" ] && [ "$u1" != 0 ] && echo $(( (u1 - u0) / KEYS )) || echo n/a)" \
      "$(( (r1 - r0) / KEYS ))" "$(( r0 / 1024 / 1024 ))"
    kill $pid; wait $pid 2>/dev/null || true
  done
done
