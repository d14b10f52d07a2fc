#!/usr/bin/env bash
# perf/loadtime.sh: how long NativeKv and redis-server take to load a 1,000,000-key dataset at startup,
# from an RDB snapshot and from an AOF (a base + an incremental file of 1,000,000 SET commands).
#
# The dataset is written once through NativeKv (redis-cli --pipe, AOF everysec), then SAVEd, so both files
# hold the same keys (key:N -> value:7N). Each server then starts on a copy of those files, and the time
# from exec to the first PONG is measured (median of --rounds, default 3), next to the server's own
# "loaded" log line. Both servers read the same files: they are in Redis 7's formats.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS=1000000
ROUNDS=3
NATIVEKV_BIN="${NATIVEKV_BINARY:-$ROOT/bin/nativekv}"
PORT=16390

say() { echo "loadtime.sh: $*" >&2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) KEYS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --binary) NATIVEKV_BIN="$2"; shift 2 ;;
        -h|--help) echo "Usage: perf/loadtime.sh [--keys N] [--rounds N] [--binary PATH]"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 1 ;;
    esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nativekv-loadtime.XXXXXX")"
PID=""
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

wait_pong() { until [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ]; do sleep 0.005; done; }

say "generating $KEYS SET commands"
python3 - "$KEYS" >"$WORK/data.resp" <<'PY'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    k = b"key:%d" % i
    v = b"value:%d" % (i * 7)
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
mkdir -p "$WORK/master"
"$NATIVEKV_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$WORK/master" --save "" --appendonly yes \
    --appendfsync everysec --auto-aof-rewrite-percentage 0 >"$WORK/master.log" 2>&1 &
PID=$!
wait_pong
redis-cli -p "$PORT" --pipe <"$WORK/data.resp" >&2
redis-cli -p "$PORT" save >/dev/null
redis-cli -p "$PORT" shutdown >/dev/null 2>&1 || true
wait "$PID" || true
PID=""
say "dataset: $(du -h "$WORK/master/dump.rdb" | cut -f1) RDB, $(du -sh "$WORK/master/appendonlydir" | cut -f1) AOF"

measure() { # server format -> prints milliseconds to first PONG
    local server="$1" format="$2" dir="$WORK/run"
    rm -rf "$dir"; cp -r "$WORK/master" "$dir"
    local aof=(--appendonly no)
    [ "$format" = aof ] && aof=(--appendonly yes)
    local start end
    start=$(date +%s%N)
    if [ "$server" = nativekv ]; then
        "$NATIVEKV_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save "" "${aof[@]}" >"$dir/server.log" 2>&1 &
    else
        redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save "" "${aof[@]}" >"$dir/server.log" 2>&1 &
    fi
    PID=$!
    wait_pong
    end=$(date +%s%N)
    local keys; keys=$(redis-cli -p "$PORT" dbsize)
    [ "$keys" = "$KEYS" ] || say "warning: $server loaded $keys keys from $format, expected $KEYS"
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    wait "$PID" || true
    PID=""
    echo $(((end - start) / 1000000))
}

echo "## perf/loadtime.sh: $KEYS keys, median of $ROUNDS start(s), ms from exec to first PONG"
echo
echo "| format | NativeKv ms | Redis ms | Redis/NativeKv |"
echo "|---|---:|---:|---:|"
for format in rdb aof; do
    n=(); r=()
    for i in $(seq 1 "$ROUNDS"); do
        n+=("$(measure nativekv "$format")")
        r+=("$(measure redis "$format")")
    done
    nm=$(printf '%s\n' "${n[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
    rm_=$(printf '%s\n' "${r[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
    echo "| $format | $nm | $rm_ | $(python3 -c "print(f'{$rm_/$nm:.2f}x')") |"
done
