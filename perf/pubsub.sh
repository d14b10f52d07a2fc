#!/usr/bin/env bash
# PUBLISH throughput with 0, 1 and 10 subscribers (redis-cli subscribe ... > /dev/null in the background),
# NativeKv (bin/nativekv) and redis-server one after the other, fresh server per measurement.
# Usage: perf/pubsub.sh [rounds]   (prints one table row per server / subscriber count / pipeline depth)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
port=7611
run() { # server-binary subscribers pipeline requests
  local bin=$1 subs=$2 pipe=$3 n=$4
  "$bin" --port $port --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  local spid=$!
  for _ in $(seq 50); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  local cpids=()
  for _ in $(seq "$subs"); do redis-cli -p $port subscribe bench >/dev/null 2>&1 & cpids+=($!); done
  for _ in $(seq 50); do
    [ "$(redis-cli -p $port pubsub numsub bench | tail -1)" = "$subs" ] && break; sleep 0.1
  done
  local rps
  rps=$(redis-benchmark -p $port -c 50 -n "$n" -P "$pipe" -q PUBLISH bench 0123456789abcdef 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  for p in "${cpids[@]}"; do kill "$p" 2>/dev/null || true; done
  redis-cli -p $port shutdown nosave >/dev/null 2>&1 || kill "$spid"
  wait "$spid" 2>/dev/null || true
  echo "$rps"
}
echo "| subscribers | -P | NativeKv rps | Redis rps | NativeKv/Redis |"
echo "|---:|---:|---:|---:|---:|"
for pipe in 1 16; do
  n=$([ "$pipe" = 1 ] && echo 200000 || echo 1000000)
  for subs in 0 1 10; do
    for r in $(seq "$rounds"); do
      a=$(run bin/nativekv "$subs" "$pipe" "$n")
      b=$(run /usr/bin/redis-server "$subs" "$pipe" "$n")
      ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')
      printf '| %s | %s | %s | %s | %s |\n' "$subs" "$pipe" "$a" "$b" "$ratio"
    done
  done
done
