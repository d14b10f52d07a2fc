#!/usr/bin/env bash
# perf/compare.sh: the same redis-benchmark lines against NativeKv, redis-server and Garnet, side by side.
#
# Each server runs alone while it is measured (the machine has 2 cores): in every round, each server is
# started fresh on its own loopback port, every benchmark line of the suite runs against it, and it is
# stopped before the next server starts. Rounds are interleaved (N, R, G, then R, G, N, ...) so drift in
# the machine's state hits every server alike; the table shows the median over rounds.
# Progress goes to stderr; the report (machine info + markdown tables) goes to stdout and to --out FILE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- suites: one redis-benchmark argument line per entry (host, port and --csv are added) ----------
SUITE_default=(
    "-c 50 -n 200000 -r 100000 -t set,get"
    "-c 50 -n 2000000 -r 100000 -P 64 --threads 2 -t set,get"
)
# redis-benchmark's own default test list, without and with pipelining.
SUITE_full=(
    "-c 50 -n 100000 -r 100000"
    "-c 50 -n 100000 -r 100000 -P 16"
)
SUITES="default full"

# ---- defaults --------------------------------------------------------------------------------------
ROUNDS=3
QUICK=0
SUITE=default
ONLY="nativekv,redis,garnet"
OUT=""
CUSTOM_LINES=()
NATIVEKV_BIN="${NATIVEKV_BINARY:-$ROOT/bin/nativekv}"
GARNET_VERSION="${GARNET_VERSION:-2.2.8}"
GARNET_DIR="$ROOT/.tools/garnet"
LINE_TIMEOUT=600        # seconds for one redis-benchmark line; a hung server must not hang the run
START_TIMEOUT=30        # seconds for a server to answer PING after it starts
BASE_PORT=16379         # nativekv 16379, redis 16380, garnet 16381 (the next free port if taken)

say() { echo "compare.sh: $*" >&2; }
die() { echo "compare.sh: error: $*" >&2; exit 1; }

usage() {
    cat <<EOF
Usage: perf/compare.sh [options]
  --suite NAME      benchmark suite: $SUITES (default: default)
  --line "ARGS"     run this redis-benchmark argument line instead of a suite (repeatable)
  --rounds N        interleaved rounds; the table shows medians (default 3)
  --quick           smoke run: 1 round, a tenth of the requests (-n)
  --only LIST       servers to run, comma separated: nativekv,redis,garnet (default: all three)
  --out FILE        also write the report to FILE
  --binary PATH     the nativekv binary (default: \$NATIVEKV_BINARY or bin/nativekv)
  --list-suites     print the suites and exit
Environment: GARNET_VERSION (default 2.2.8), installed on demand into .tools/garnet.
EOF
}

ORIG_ARGS=""   # the command line as typed, for the report
for a in "$@"; do
    if [[ -z "$a" || "$a" == *[[:space:]]* ]]; then a="\"$a\""; fi
    ORIG_ARGS="${ORIG_ARGS:+$ORIG_ARGS }$a"
done
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) SUITE="${2:?--suite needs a name}"; shift 2 ;;
        --line) CUSTOM_LINES+=("${2:?--line needs arguments}"); shift 2 ;;
        --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
        --out) OUT="${2:?--out needs a file}"; shift 2 ;;
        --binary) NATIVEKV_BIN="${2:?--binary needs a path}"; shift 2 ;;
        --list-suites)
            for s in $SUITES; do
                declare -n lines="SUITE_$s"
                echo "$s:"; printf '  %s\n' "${lines[@]}"
                unset -n lines
            done
            exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive number"
[ "$QUICK" -eq 1 ] && ROUNDS=1

if [ "${#CUSTOM_LINES[@]}" -gt 0 ]; then
    LINES=("${CUSTOM_LINES[@]}")
    SUITE=custom
else
    [[ " $SUITES " == *" $SUITE "* ]] || die "unknown suite '$SUITE' (known: $SUITES)"
    declare -n suite_ref="SUITE_$SUITE"
    LINES=("${suite_ref[@]}")
fi
if [ "$QUICK" -eq 1 ]; then   # a tenth of each -n, at least 1000
    for i in "${!LINES[@]}"; do
        LINES[$i]="$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-n" && i < NF) { n = int($(i+1) / 10); $(i+1) = (n < 1000 ? 1000 : n) } print }' <<<"${LINES[$i]}")"
    done
fi

command -v redis-benchmark >/dev/null || die "redis-benchmark not found (./build.sh prereqs installs redis-tools)"
command -v redis-cli >/dev/null || die "redis-cli not found (./build.sh prereqs installs redis-tools)"
command -v python3 >/dev/null || die "python3 not found"

# ---- servers ---------------------------------------------------------------------------------------
SERVERS=()
IFS=',' read -r -a wanted <<<"$ONLY"
for s in "${wanted[@]}"; do
    case "$s" in
        nativekv|redis|garnet) SERVERS+=("$s") ;;
        "") ;;
        *) die "unknown server '$s' in --only (known: nativekv, redis, garnet)" ;;
    esac
done
[ "${#SERVERS[@]}" -gt 0 ] || die "--only selects no server"

has_server() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }
drop_server() {
    local s kept=()
    for s in "${SERVERS[@]}"; do [ "$s" = "$1" ] || kept+=("$s"); done
    SERVERS=(${kept[@]+"${kept[@]}"})
}

if has_server nativekv && [ ! -x "$NATIVEKV_BIN" ]; then
    die "no nativekv binary at $NATIVEKV_BIN (run ./build.sh publish, or pass --only redis,garnet)"
fi
if has_server redis && ! command -v redis-server >/dev/null; then
    die "redis-server not found (./build.sh prereqs installs it)"
fi
GARNET_NOTE=""
if has_server garnet && [ ! -x "$GARNET_DIR/garnet-server" ]; then
    say "installing Garnet $GARNET_VERSION into .tools/garnet (dotnet tool install)"
    if ! timeout 300 dotnet tool install --tool-path "$GARNET_DIR" garnet-server --version "$GARNET_VERSION" >&2; then
        GARNET_NOTE="Garnet could not be installed (dotnet tool install garnet-server $GARNET_VERSION failed): its columns are empty."
        say "$GARNET_NOTE"
        drop_server garnet
    fi
fi
[ "${#SERVERS[@]}" -gt 0 ] || die "no server left to benchmark"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nativekv-compare.XXXXXX")"
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do     # up to 10 s for a graceful exit, then SIGKILL
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
BENCH_PID=""
cleanup() {
    [ -n "$BENCH_PID" ] && kill -TERM "$BENCH_PID" 2>/dev/null
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p="$1"
    while port_in_use "$p"; do p=$((p + 1)); done
    echo "$p"
}
declare -A PORT
port=$BASE_PORT
for s in nativekv redis garnet; do
    port="$(free_port "$port")"
    PORT[$s]=$port
    port=$((port + 1))
done

ping_ok() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

# start_server NAME: start it fresh in its own empty folder; returns 1 if it does not answer PING.
start_server() {
    local name="$1" port="${PORT[$1]}" dir="$WORK/$1"
    rm -rf "$dir"; mkdir -p "$dir"
    case "$name" in
        nativekv) (cd "$dir" && exec "$NATIVEKV_BIN" --port "$port" --bind 127.0.0.1 --save "" --appendonly no) \
                      >"$dir/server.log" 2>&1 </dev/null & ;;
        redis)    (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
                      --dir "$dir") >"$dir/server.log" 2>&1 </dev/null & ;;
        garnet)   (cd "$dir" && DOTNET_ROLL_FORWARD=Major exec "$GARNET_DIR/garnet-server" --port "$port" \
                      --bind 127.0.0.1 --lua) >"$dir/server.log" 2>&1 </dev/null & ;;
    esac
    SERVER_PID=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            say "$name exited at start; last lines of its output:"; tail -n 5 "$dir/server.log" | sed 's/^/    /' >&2
            SERVER_PID=""; return 1
        fi
        ping_ok "$port" && return 0
        sleep 0.1
    done
    say "$name did not answer PING on port $port within ${START_TIMEOUT}s; last lines of its output:"
    tail -n 5 "$dir/server.log" | sed 's/^/    /' >&2
    stop_server; return 1
}

# ---- machine info ----------------------------------------------------------------------------------
first_line() { "$@" 2>/dev/null | head -n1 || true; }
cpu_model="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
mem_total="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
v_nativekv="-"; v_redis="-"; v_garnet="-"
has_server nativekv && v_nativekv="$(first_line timeout 10 "$NATIVEKV_BIN" --version)"
command -v redis-server >/dev/null && v_redis="$(first_line redis-server --version)"
[ -x "$GARNET_DIR/garnet-server" ] && v_garnet="$(DOTNET_ROLL_FORWARD=Major first_line timeout 30 "$GARNET_DIR/garnet-server" --version)"
git_rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || git_rev="$git_rev (with uncommitted changes)"

REPORT="$WORK/report.md"
{
    echo "## perf/compare.sh --suite $SUITE, $ROUNDS round(s)$([ "$QUICK" -eq 1 ] && echo ', quick')"
    echo
    echo "- command: \`perf/compare.sh${ORIG_ARGS:+ $ORIG_ARGS}\`"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $git_rev"
    echo "- machine: $(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-? memory}, $(uname -sr)"
    echo "- nativekv: $v_nativekv ($NATIVEKV_BIN)"
    echo "- redis-server: $v_redis; $(first_line redis-benchmark --version)"
    echo "- garnet: $v_garnet"
    echo "- servers measured one at a time, each started fresh per round, persistence off; medians over rounds"
    [ -n "$GARNET_NOTE" ] && echo "- note: $GARNET_NOTE"
    echo
} >"$REPORT"
cat "$REPORT"

# ---- rounds ----------------------------------------------------------------------------------------
RAW="$WORK/raw.csv"          # round,server,line,test,rps,avg,min,p50,p95,p99,max (CSV, test quoted)
: >"$RAW"
FAILED=()
n=${#SERVERS[@]}
for round in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $((n - 1))); do
        server="${SERVERS[$(((k + round - 1) % n))]}"
        say "round $round/$ROUNDS: $server on 127.0.0.1:${PORT[$server]}"
        if ! start_server "$server"; then
            FAILED+=("$server (round $round)")
            continue
        fi
        for li in "${!LINES[@]}"; do
            line="${LINES[$li]}"
            say "  redis-benchmark $line"
            out="$WORK/out.csv"
            # shellcheck disable=SC2086  # the line is a list of arguments on purpose
            # In the background with `wait`, so that a signal to this script is handled at once.
            timeout "$LINE_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "${PORT[$server]}" $line --csv \
                >"$out" 2>"$WORK/bench.err" </dev/null &
            BENCH_PID=$!
            rc=0; wait "$BENCH_PID" || rc=$?
            BENCH_PID=""
            if [ "$rc" -ne 0 ]; then
                say "  redis-benchmark failed or timed out (${LINE_TIMEOUT}s) against $server:"
                tail -n 3 "$WORK/bench.err" | sed 's/^/    /' >&2
                FAILED+=("$server line $((li + 1)) (round $round)")
            fi
            # Data lines look like "SET","53763.44","0.696","0.016","0.751","1.095","1.367","4.623"
            grep '^"' "$out" | grep -v '^"test"' | sed "s/^/$round,$server,$li,/" >>"$RAW" || true
        done
        stop_server
    done
done

# ---- report ----------------------------------------------------------------------------------------
printf '%s\n' "${LINES[@]}" >"$WORK/lines.txt"
python3 - "$RAW" "$WORK/lines.txt" "${SERVERS[*]}" >>"$REPORT.tables" <<'PY'
import csv, statistics, sys
raw, lines_file, measured = sys.argv[1], sys.argv[2], sys.argv[3].split()
lines = open(lines_file).read().splitlines()
names = {"nativekv": "NativeKv", "redis": "Redis", "garnet": "Garnet"}
data = {}   # (line, test) -> server -> list of (rps, p50, p99)
order = []  # tests in the order redis-benchmark printed them, per line
for row in csv.reader(open(raw)):
    if len(row) < 11:
        continue
    _, server, line, test = row[0], row[1], int(row[2]), row[3]
    rps, p50, p99 = float(row[4]), float(row[7]), float(row[9])
    key = (line, test)
    if key not in data:
        data[key] = {}
        order.append(key)
    data[key].setdefault(server, []).append((rps, p50, p99))

def med(vals, i):
    return statistics.median(v[i] for v in vals) if vals else None

def rps_s(x): return "–" if x is None else f"{x:,.0f}"
def lat_s(a, b): return "–" if a is None else f"{a:.3f} / {b:.3f}"
def ratio(a, b): return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}x"

for li, line in enumerate(lines):
    print(f"### redis-benchmark {line}\n")
    print("| test | NativeKv rps | Redis rps | Garnet rps | NativeKv/Redis | NativeKv/Garnet "
          "| NativeKv p50/p99 ms | Redis p50/p99 ms | Garnet p50/p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = [k for k in order if k[0] == li]
    if not keys:
        print("| (no results) | | | | | | | | |")
    for key in keys:
        m = {s: (med(data[key].get(s, []), 0), med(data[key].get(s, []), 1), med(data[key].get(s, []), 2))
             for s in names}
        nk, rd, gn = m["nativekv"][0], m["redis"][0], m["garnet"][0]
        print(f"| {key[1]} | {rps_s(nk)} | {rps_s(rd)} | {rps_s(gn)} | {ratio(nk, rd)} | {ratio(nk, gn)} | "
              + " | ".join(lat_s(m[s][1], m[s][2]) for s in names) + " |")
    print()
PY
if [ "${#FAILED[@]}" -gt 0 ]; then
    { echo "Failures: ${FAILED[*]}"; echo; } >>"$REPORT.tables"
fi
cat "$REPORT.tables"
cat "$REPORT.tables" >>"$REPORT"
if [ -n "$OUT" ]; then
    cp "$REPORT" "$OUT"
    say "report written to $OUT"
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
    say "some runs failed: ${FAILED[*]}"
    exit 2
fi
