#!/usr/bin/env bash
# perf/compare.sh: the same redis-benchmark lines against NativeKv, redis-server and Garnet, side by side,
# next to the I/O ceiling: perf/reference/responder.c, a C epoll server that frames RESP and answers +OK
# to everything (built here with cc on first use). Its column says how fast any server could look to
# this client on this machine; it runs no scripts and writes no files, so @lua and @aof lines skip it.
#
# Each server runs alone while it is measured (the machine has 2 cores): in every round, each server is
# started fresh on its own loopback port, every benchmark line of the suite runs against it, and it is
# stopped before the next server starts. Rounds are interleaved (N, R, G, then R, G, N, ...) so drift in
# the machine's state hits every server alike; the table shows the median over rounds.
# Progress goes to stderr; the report (machine info + markdown tables) goes to stdout and to --out FILE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- suites: one redis-benchmark argument line per entry (host, port and --csv are added) ----------
# A line may start with @tokens that say how the servers run it; consecutive lines with the same tokens
# share one fresh server start:
#   @aof=always|everysec   append-only file on, with that fsync policy (Garnet: --aof --device-type
#                          RandomAccess with --aof-commit-freq 0 --aof-commit-wait, resp. --aof-commit-freq
#                          1000); a server that wrote no file during the line has its figures left out
#                          (they would not be durable ones)
#   @maxclients=N          accept N connections (Garnet: --network-connection-limit); raises ulimit -n
#   @lua                   needs scripting: a server that cannot run EVAL "return 1" 0 is skipped
# In the arguments, {script:NAME} is one argument, the script SCRIPTS[NAME], and {sha:NAME} its SHA1 (the
# script is loaded with SCRIPT LOAD after each server start, since redis-benchmark can't do it).
SUITE_default=(
    "-c 50 -n 200000 -r 100000 -t set,get"
    "-c 50 -n 2000000 -r 100000 -P 64 --threads 2 -t set,get"
    # The same for ten times as long: with --threads, redis-benchmark 7.0's elapsed time comes in steps
    # of 250 ms, so 2,000,000 requests at 2-4M/s can only measure 2.0M, 2.67M or 4.0M requests/s.
    "-c 50 -n 20000000 -r 100000 -P 64 --threads 2 -t set,get"
)
# redis-benchmark's own default test list, without and with pipelining. Pipelined, 100,000 requests
# take under 100 ms per test at 1-1.7M/s, too short to separate the servers (one round of 20 tests gave
# 0.66-1.13x where 1,000,000 requests gave 0.85-1.38x on the same binaries): -P 16 runs 1,000,000.
SUITE_full=(
    "-c 50 -n 100000 -r 100000"
    "-c 50 -n 1000000 -r 100000 -P 16"
)
# Scripts: a read, and a read-modify-write (an INCR done in Lua), by EVAL (compiled once, then found in
# the cache by its text) and by EVALSHA.
declare -A SCRIPTS=(
    [get]="return redis.call('GET', KEYS[1])"
    [rmw]="local v = tonumber(redis.call('GET', KEYS[1]) or '0') + 1; redis.call('SET', KEYS[1], v); return v"
    [hello]="return 'hello'"
    [rmw5]="local v = tonumber(redis.call('GET', KEYS[1])) or 0; v = (v * 2 + 1) % 1000003; redis.call('SET', KEYS[1], v); return v"
)
SUITE_lua=(
    "@lua -c 50 -n 100000 -r 100000 EVAL {script:get} 1 key:__rand_int__"
    "@lua -c 50 -n 100000 -r 100000 EVAL {script:rmw} 1 counter:__rand_int__"
    "@lua -c 50 -n 100000 -r 100000 EVALSHA {sha:get} 1 key:__rand_int__"
    "@lua -c 50 -n 100000 -r 100000 EVALSHA {sha:rmw} 1 counter:__rand_int__"
    "@lua -c 50 -n 1000000 -r 100000 -P 16 EVALSHA {sha:get} 1 key:__rand_int__"
    # Issue 5's lines: a trivial script and its read-modify-write script, unpipelined and pipelined.
    "@lua -c 50 -n 200000 EVAL {script:hello} 0"
    "@lua -c 50 -n 200000 -r 100000 EVAL {script:rmw5} 1 ev:__rand_int__"
    "@lua -c 50 -n 200000 -r 100000 EVALSHA {sha:rmw5} 1 ev:__rand_int__"
    "@lua -c 50 -n 1000000 -P 16 EVAL {script:hello} 0"
    "@lua -c 50 -n 1000000 -r 100000 -P 16 EVAL {script:rmw5} 1 ev:__rand_int__"
    "@lua -c 50 -n 1000000 -r 100000 -P 16 EVALSHA {sha:rmw5} 1 ev:__rand_int__"
)
# 1 KB and 1 MB values (the 1 MB line keeps 100 keys: 100 MB per server).
SUITE_values=(
    "-c 50 -n 100000 -r 100000 -d 1024 -t set,get"
    "-c 50 -n 2000 -r 100 -d 1048576 -t set,get"
)
# Many connections: 1,000 and 10,000 clients, each doing a few requests.
SUITE_conns=(
    "@maxclients=20000 -c 1000 -n 200000 -r 100000 -t set,get"
    "@maxclients=20000 -c 10000 -n 200000 -r 100000 -t set,get"
)
# Bitmaps: single-bit and bitfield writes and reads (offsets are fixed: redis-benchmark's __rand_int__ is
# zero-padded, which an offset may not be), then counting and searching a 1 MB bitmap.
SUITE_bitmap=(
    "-c 50 -n 200000 SETBIT flags 12345 1"
    "-c 50 -n 200000 GETBIT flags 12345"
    "-c 50 -n 200000 BITFIELD counters INCRBY u8 #7 1"
    "-c 50 -n 1000000 -P 16 SETBIT flags 12345 1"
    "-c 50 -n 1000000 -P 16 BITFIELD counters INCRBY u8 #7 1"
    "-c 50 -n 2000 SETBIT big 8388607 1"
    "-c 50 -n 20000 BITCOUNT big"
    "-c 50 -n 20000 BITPOS big 1"
)
# Writes with the append-only file on: fsync on every write (group commit), and once a second.
SUITE_aof=(
    "@aof=always -c 50 -n 100000 -r 100000 -t set,incr,lpush"
    "@aof=always -c 50 -n 1000000 -r 100000 -P 16 -t set,incr"
    "@aof=everysec -c 50 -n 200000 -r 100000 -t set,incr,lpush"
    "@aof=everysec -c 50 -n 1000000 -r 100000 -P 16 -t set,incr"
)
SUITE_all=("${SUITE_default[@]}" "${SUITE_full[@]}" "${SUITE_values[@]}" "${SUITE_lua[@]}" "${SUITE_bitmap[@]}" "${SUITE_aof[@]}" "${SUITE_conns[@]}")
SUITES="default full lua values bitmap conns aof all"

# ---- defaults --------------------------------------------------------------------------------------
ROUNDS=3
QUICK=0
SUITE=default
ONLY="nativekv,redis,garnet,ceiling"
OUT=""
CUSTOM_LINES=()
NATIVEKV_BIN="${NATIVEKV_BINARY:-$ROOT/bin/nativekv}"
GARNET_VERSION="${GARNET_VERSION:-2.2.8}"
GARNET_DIR="$ROOT/.tools/garnet"
CEILING_SRC="$ROOT/perf/reference/responder.c"
CEILING_BIN="$ROOT/.tools/responder/responder"
LINE_TIMEOUT=600        # seconds for one redis-benchmark line; a hung server must not hang the run
START_TIMEOUT=30        # seconds for a server to answer PING after it starts
BASE_PORT=16379         # nativekv 16379, redis 16380, garnet 16381, ceiling 16382 (the next free port if taken)

say() { echo "compare.sh: $*" >&2; }
die() { echo "compare.sh: error: $*" >&2; exit 1; }

usage() {
    cat <<EOF
Usage: perf/compare.sh [options]
  --suite NAME      benchmark suite: $SUITES (default: default)
  --line "ARGS"     run this redis-benchmark argument line instead of a suite (repeatable; may use the
                    @tokens and {script:NAME}/{sha:NAME} of the suites, see the top of this script)
  --rounds N        interleaved rounds; the table shows medians (default 3)
  --quick           smoke run: 1 round, a tenth of the requests (-n)
  --only LIST       servers to run, comma separated: nativekv,redis,garnet,ceiling (default: all four)
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
# Servers start in their own folders: a relative binary path must not depend on where we are.
case "$NATIVEKV_BIN" in /*) ;; *) NATIVEKV_BIN="$PWD/$NATIVEKV_BIN" ;; esac
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

# ---- line syntax -----------------------------------------------------------------------------------
declare -A SHAS
for name in "${!SCRIPTS[@]}"; do
    SHAS[$name]="$(printf '%s' "${SCRIPTS[$name]}" | sha1sum | cut -d' ' -f1)"
done

# split_line LINE: sets LINE_CFG (the @tokens, space separated) and LINE_ARGS (redis-benchmark's
# arguments, placeholders expanded); returns 1 with LINE_ERR set when the line is malformed.
split_line() {
    local words w name
    LINE_CFG=""; LINE_ARGS=(); LINE_ERR=""
    read -r -a words <<<"$1"
    for w in "${words[@]}"; do
        case "$w" in
            @aof=always|@aof=everysec|@lua) LINE_CFG="${LINE_CFG:+$LINE_CFG }$w" ;;
            @maxclients=*)
                [[ "${w#@maxclients=}" =~ ^[1-9][0-9]*$ ]] || { LINE_ERR="bad token $w"; return 1; }
                LINE_CFG="${LINE_CFG:+$LINE_CFG }$w" ;;
            @*) LINE_ERR="unknown token $w (known: @aof=always, @aof=everysec, @maxclients=N, @lua)"; return 1 ;;
            "{script:"*"}")
                name="${w#\{script:}"; name="${name%\}}"
                [ -n "${SCRIPTS[$name]+x}" ] || { LINE_ERR="unknown script $name"; return 1; }
                LINE_ARGS+=("${SCRIPTS[$name]}") ;;
            "{sha:"*"}")
                name="${w#\{sha:}"; name="${name%\}}"
                [ -n "${SHAS[$name]+x}" ] || { LINE_ERR="unknown script $name"; return 1; }
                LINE_ARGS+=("${SHAS[$name]}") ;;
            *) LINE_ARGS+=("$w") ;;
        esac
    done
}
MAX_CLIENTS_WANTED=0   # the largest -c of the lines
for line in "${LINES[@]}"; do
    split_line "$line" || die "in line '$line': $LINE_ERR"
    for i in "${!LINE_ARGS[@]}"; do
        if [ "${LINE_ARGS[$i]}" = -c ] && [[ "${LINE_ARGS[$((i + 1))]:-}" =~ ^[0-9]+$ ]] \
            && [ "${LINE_ARGS[$((i + 1))]}" -gt "$MAX_CLIENTS_WANTED" ]; then
            MAX_CLIENTS_WANTED="${LINE_ARGS[$((i + 1))]}"
        fi
    done
done
# Each side of N connections needs N descriptors (and the server a few more): raise the limit for
# this script and what it starts, when the lines need more than the usual 1,024.
if [ "$MAX_CLIENTS_WANTED" -gt 500 ]; then
    want=$((MAX_CLIENTS_WANTED + 1024))
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
        # bash's ulimit -n sets the soft and hard limits; only root may raise the hard one.
        ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    fi
    say "open files limit (ulimit -n): $(ulimit -n) (lines want up to $MAX_CLIENTS_WANTED connections)"
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((MAX_CLIENTS_WANTED + 64)) ]; then
        say "warning: the open files limit is too low for $MAX_CLIENTS_WANTED connections (not root?): those lines will fail"
    fi
fi

command -v redis-benchmark >/dev/null || die "redis-benchmark not found (./build.sh prereqs installs redis-tools)"
command -v redis-cli >/dev/null || die "redis-cli not found (./build.sh prereqs installs redis-tools)"
command -v python3 >/dev/null || die "python3 not found"

# ---- servers ---------------------------------------------------------------------------------------
SERVERS=()
IFS=',' read -r -a wanted <<<"$ONLY"
for s in "${wanted[@]}"; do
    case "$s" in
        nativekv|redis|garnet|ceiling) SERVERS+=("$s") ;;
        "") ;;
        *) die "unknown server '$s' in --only (known: nativekv, redis, garnet, ceiling)" ;;
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
CEILING_NOTE=""
if has_server ceiling && { [ ! -x "$CEILING_BIN" ] || [ "$CEILING_SRC" -nt "$CEILING_BIN" ]; }; then
    cc_cmd="$(command -v cc || command -v clang || command -v gcc || true)"
    mkdir -p "$(dirname "$CEILING_BIN")"
    if [ -n "$cc_cmd" ] && "$cc_cmd" -O2 -o "$CEILING_BIN" "$CEILING_SRC" >&2; then
        say "built the ceiling responder: $cc_cmd -O2 -o ${CEILING_BIN#$ROOT/} ${CEILING_SRC#$ROOT/}"
    else
        CEILING_NOTE="the ceiling responder could not be built (no C compiler?): its columns are empty."
        say "$CEILING_NOTE"
        drop_server ceiling
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
for s in nativekv redis garnet ceiling; do
    port="$(free_port "$port")"
    PORT[$s]=$port
    port=$((port + 1))
done

ping_ok() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

# server_args NAME CFG: the extra options that the @tokens in CFG mean for that server (into EXTRA).
server_args() {
    local name="$1" tok fsync n
    EXTRA=()
    for tok in $2; do
        case "$tok" in
            @aof=*)
                fsync="${tok#@aof=}"
                case "$name" in
                    nativekv|redis) EXTRA+=(--appendonly yes --appendfsync "$fsync") ;;
                    garnet)
                        # RandomAccess: Garnet's native Linux device needs libaio, which Debian 12 lacks.
                        EXTRA+=(--aof --checkpointdir "$WORK/$name/data" --device-type RandomAccess)
                        if [ "$fsync" = always ]; then EXTRA+=(--aof-commit-freq 0 --aof-commit-wait)
                        else EXTRA+=(--aof-commit-freq 1000); fi ;;
                esac ;;
            @maxclients=*)
                n="${tok#@maxclients=}"
                case "$name" in
                    nativekv|redis) EXTRA+=(--maxclients "$n") ;;
                    garnet) EXTRA+=(--network-connection-limit "$n") ;;
                esac ;;
        esac
    done
}

# start_server NAME [CFG]: start it fresh in its own empty folder, with the options the @tokens of CFG
# ask for; returns 1 if it does not answer PING.
start_server() {
    local name="$1" port="${PORT[$1]}" dir="$WORK/$1"
    server_args "$name" "${2:-}"
    rm -rf "$dir"; mkdir -p "$dir"
    case "$name" in
        nativekv) (cd "$dir" && exec "$NATIVEKV_BIN" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
                      --dir "$dir" ${EXTRA[@]+"${EXTRA[@]}"}) >"$dir/server.log" 2>&1 </dev/null & ;;
        redis)    (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
                      --dir "$dir" ${EXTRA[@]+"${EXTRA[@]}"}) >"$dir/server.log" 2>&1 </dev/null & ;;
        garnet)   (cd "$dir" && DOTNET_ROLL_FORWARD=Major exec "$GARNET_DIR/garnet-server" --port "$port" \
                      --bind 127.0.0.1 --lua ${EXTRA[@]+"${EXTRA[@]}"}) >"$dir/server.log" 2>&1 </dev/null & ;;
        ceiling)  (cd "$dir" && exec "$CEILING_BIN" "$port") >"$dir/server.log" 2>&1 </dev/null & ;;
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
    has_server ceiling && echo "- ceiling: perf/reference/responder.c, one thread, frames RESP and answers +OK to every command (no store)"
    echo "- servers measured one at a time, each started fresh per round and per block of lines with the same @tokens;"
    echo "  persistence off unless a line says @aof=...; medians over rounds; a test whose command a server answers"
    echo "  with an error is taken out of that server's -t list (redis-benchmark would stop the whole line at it)"
    if [ "$MAX_CLIENTS_WANTED" -gt 500 ]; then echo "- open files limit (ulimit -n): $(ulimit -n)"; fi
    if printf '%s\n' "${LINES[@]}" | grep -q '{s\(cript\|ha\):'; then
        for name in $(printf '%s\n' "${!SCRIPTS[@]}" | sort); do
            echo "- script $name (sha ${SHAS[$name]}): \`${SCRIPTS[$name]}\`"
        done
    fi
    [ -n "$GARNET_NOTE" ] && echo "- note: $GARNET_NOTE"
    [ -n "$CEILING_NOTE" ] && echo "- note: $CEILING_NOTE"
    echo
} >"$REPORT"
cat "$REPORT"

# ---- rounds ----------------------------------------------------------------------------------------
RAW="$WORK/raw.csv"          # round,server,line,test,rps,avg,min,p50,p95,p99,max (CSV, test quoted)
: >"$RAW"
NOTES="$WORK/notes.tsv"      # round, server, line index, test ("*": the whole line), why it is not in the table
: >"$NOTES"
FAILED=()

note() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(tr -d '\r\n\t' <<<"$5")" >>"$NOTES"; }

# cli ARGS...: one command to the server being measured; prints the reply, returns 1 for an error reply.
cli() {
    local r rc=0
    r="$(timeout 10 redis-cli -h 127.0.0.1 -p "${PORT[$server]}" "$@" 2>&1)" || rc=$?
    printf '%s' "$r"
    # Without a terminal redis-cli prints an error reply bare ("ERR ...", "WRONGTYPE ...").
    [ "$rc" -eq 0 ] && ! [[ "$r" =~ ^[A-Z][A-Z]+\  ]]
}

# One command per redis-benchmark test (its -t name without a _N suffix), sent once after each start:
# redis-benchmark 7 stops a whole line at the first error reply, so the tests whose command the server
# answers with an error are taken out of that server's -t list (and listed under the table) instead.
declare -A TEST_PROBE=(
    [ping_inline]="PING" [ping_mbulk]="PING" [set]="SET cmp:probe:s v" [get]="GET cmp:probe:s"
    [incr]="INCR cmp:probe:i" [lpush]="LPUSH cmp:probe:l v" [rpush]="RPUSH cmp:probe:l v" [lpop]="LPOP cmp:probe:l"
    [rpop]="RPOP cmp:probe:l" [sadd]="SADD cmp:probe:set m" [hset]="HSET cmp:probe:h f v" [spop]="SPOP cmp:probe:set"
    [zadd]="ZADD cmp:probe:z 0 m" [zpopmin]="ZPOPMIN cmp:probe:z" [lrange]="LRANGE cmp:probe:l 0 1"
    [mset]="MSET cmp:probe:s v cmp:probe:t w" [xadd]="XADD cmp:probe:x * f v"
)

# prepare_server CFG: after a start, find the tests the server can't run (UNSUPPORTED: "name=reply" per
# line) and, for a @lua block, check scripting and load the scripts (NO_LUA: why not, or empty).
prepare_server() {
    local t words r name
    UNSUPPORTED=""
    for t in "${!TEST_PROBE[@]}"; do
        read -r -a words <<<"${TEST_PROBE[$t]}"
        r="$(cli "${words[@]}")" || { r="${r%%, with args*}"; UNSUPPORTED+="$t=${r:0:100}"$'\n'; }
    done
    NO_LUA=""
    if [[ " $1 " == *" @lua "* ]]; then
        r="$(cli EVAL "return 1" 0)" || true
        if [ "$r" != 1 ]; then NO_LUA="EVAL \"return 1\" 0 answered ${r:0:100}"; return 0; fi
        for name in "${!SCRIPTS[@]}"; do
            r="$(cli SCRIPT LOAD "${SCRIPTS[$name]}")" || true
            if [ "$r" != "${SHAS[$name]}" ]; then NO_LUA="SCRIPT LOAD $name answered ${r:0:100}"; return 0; fi
        done
    fi
}

# redis-benchmark's own test list (7.0), what a line without -t runs.
DEFAULT_TESTS="ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset"
# redis-benchmark options that take a value (the first other word starts a custom command).
VALUE_OPTS=" -h -p -s -a -u --user -c -n -d --dbnum -k -P -r -t --threads --precision --cacert --cacertdir --cert --key --tls-ciphers --tls-ciphersuites --sni "

# filter_tests: LINE_ARGS without the tests the server can't run (see TEST_PROBE); sets RUN_ARGS, and
# LEFT_OUT ("test<TAB>reply" lines). RUN_ARGS is empty when no test of the line is left.
filter_tests() {
    local i=0 t key list="" kept="" custom=0 ti=-1
    RUN_ARGS=("${LINE_ARGS[@]}"); LEFT_OUT=""
    [ -n "$UNSUPPORTED" ] || return 0
    while [ "$i" -lt "${#RUN_ARGS[@]}" ]; do
        case "${RUN_ARGS[$i]}" in
            -t) ti=$((i + 1)); i=$((i + 2)) ;;
            -*) if [[ "$VALUE_OPTS" == *" ${RUN_ARGS[$i]} "* ]]; then i=$((i + 2)); else i=$((i + 1)); fi ;;
            *) custom=1; break ;;
        esac
    done
    [ "$custom" -eq 1 ] && return 0
    if [ "$ti" -ge 0 ]; then list="${RUN_ARGS[$ti]}"; else list="$DEFAULT_TESTS"; fi
    for t in ${list//,/ }; do
        key="${t%%_[0-9]*}"
        local why
        why="$(awk -v k="$key" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' <<<"$UNSUPPORTED")"
        if [ -n "$why" ]; then LEFT_OUT+="$t"$'\t'"$why"$'\n'; else kept="${kept:+$kept,}$t"; fi
    done
    [ -n "$LEFT_OUT" ] || return 0
    if [ -z "$kept" ]; then RUN_ARGS=(); return 0; fi
    if [ "$ti" -ge 0 ]; then RUN_ARGS[$ti]="$kept"; else RUN_ARGS+=(-t "$kept"); fi
}

n=${#SERVERS[@]}
for round in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $((n - 1))); do
        server="${SERVERS[$(((k + round - 1) % n))]}"
        say "round $round/$ROUNDS: $server on 127.0.0.1:${PORT[$server]}"
        running=0; running_cfg=""; failed_cfg="-"
        for li in "${!LINES[@]}"; do
            line="${LINES[$li]}"
            split_line "$line"
            if [ "$server" = ceiling ] && [[ "$LINE_CFG" == *@aof=* || "$LINE_CFG" == *@lua* ]]; then
                note "$round" "$server" "$li" "*" "not run: the ceiling responder has no scripting and no persistence"
                continue
            fi
            # A fresh server for each block of lines with the same @tokens.
            if [ "$running" -eq 0 ] || [ "$LINE_CFG" != "$running_cfg" ]; then
                stop_server; running=0
                if [ "$LINE_CFG" = "$failed_cfg" ]; then
                    note "$round" "$server" "$li" "*" "not run: the server did not start"
                    continue
                fi
                [ -n "$LINE_CFG" ] && say "  $server fresh for $LINE_CFG"
                if ! start_server "$server" "$LINE_CFG"; then
                    FAILED+=("$server${LINE_CFG:+ ($LINE_CFG)} (round $round)")
                    failed_cfg="$LINE_CFG"
                    note "$round" "$server" "$li" "*" "not run: the server did not start"
                    continue
                fi
                running=1; running_cfg="$LINE_CFG"
                prepare_server "$LINE_CFG"
            fi
            if [[ " $LINE_CFG " == *" @lua "* ]] && [ -n "$NO_LUA" ]; then
                say "  skipped: $server has no scripting ($NO_LUA)"
                note "$round" "$server" "$li" "*" "not run: no scripting ($NO_LUA)"
                continue
            fi
            filter_tests
            if [ -n "$LEFT_OUT" ]; then
                while IFS=$'\t' read -r t why; do
                    [ -n "$t" ] && note "$round" "$server" "$li" "$(tr '[:lower:]' '[:upper:]' <<<"$t")" "left out: the server answers its command with $why"
                done <<<"$LEFT_OUT"
                say "  $server can't run: $(cut -f1 <<<"$LEFT_OUT" | xargs | tr ' ' ,)"
            fi
            if [ "${#RUN_ARGS[@]}" -eq 0 ]; then
                note "$round" "$server" "$li" "*" "not run: the server supports none of its tests"
                continue
            fi
            say "  redis-benchmark ${RUN_ARGS[*]}"
            out="$WORK/out.csv"
            touch "$WORK/line-start"
            # In the background with `wait`, so that a signal to this script is handled at once.
            timeout "$LINE_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "${PORT[$server]}" --csv "${RUN_ARGS[@]}" \
                >"$out" 2>"$WORK/bench.err" </dev/null &
            BENCH_PID=$!
            rc=0; wait "$BENCH_PID" || rc=$?
            BENCH_PID=""
            if [ "$rc" -ne 0 ]; then
                say "  redis-benchmark failed or timed out (${LINE_TIMEOUT}s) against $server:"
                tail -n 3 "$WORK/bench.err" | sed 's/^/    /' >&2
                FAILED+=("$server line $((li + 1)) (round $round)")
                note "$round" "$server" "$li" "*" "redis-benchmark failed: $(grep -v WARNING "$WORK/bench.err" | tail -n 1 | cut -c1-160)"
            fi
            # An @aof line counts only if the server really wrote its log during the line.
            if [[ "$LINE_CFG" == *@aof=* ]] && [ -z "$(find "$WORK/$server" -type f ! -name server.log -newer "$WORK/line-start" -print -quit)" ]; then
                say "  $server wrote no append-only file during the line: its figures are left out"
                note "$round" "$server" "$li" "*" "left out: no append-only file was written during the line (${LINE_CFG})"
                continue
            fi
            # Data lines look like "SET","53763.44","0.696","0.016","0.751","1.095","1.367","4.623"
            grep '^"' "$out" | grep -v '^"test"' | sed "s/^/$round,$server,$li,/" >>"$RAW" || true
        done
        stop_server
    done
done

# ---- report ----------------------------------------------------------------------------------------
printf '%s\n' "${LINES[@]}" >"$WORK/lines.txt"
python3 - "$RAW" "$WORK/lines.txt" "${SERVERS[*]}" "$NOTES" >>"$REPORT.tables" <<'PY'
import csv, statistics, sys
raw, lines_file, measured, notes_file = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
lines = open(lines_file).read().splitlines()
names = {"nativekv": "NativeKv", "redis": "Redis", "garnet": "Garnet", "ceiling": "Ceiling"}
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

# Tests left out or lines not run, per line: (server, test, why) -> rounds.
notes = {}
for raw_line in open(notes_file):
    parts = raw_line.rstrip("\n").split("\t")
    if len(parts) < 5:
        continue
    rnd, server, line, test, why = parts[0], parts[1], int(parts[2]), parts[3], parts[4]
    notes.setdefault(line, {}).setdefault((server, test, why), []).append(rnd)
    # A left-out test named by its -t name (LRANGE_100) gets the row of its CSV name (LRANGE_100 (first
    # 100 elements)) when another server measured it, a row of its own otherwise.
    if test != "*" and not any(k[0] == line and (k[1] == test or k[1].startswith(test + " ")) for k in order):
        data[(line, test)] = {}
        order.append((line, test))

def med(vals, i):
    return statistics.median(v[i] for v in vals) if vals else None

def rps_s(x): return "–" if x is None else f"{x:,.0f}"
def lat_s(a, b): return "–" if a is None else f"{a:.3f} / {b:.3f}"
def ratio(a, b): return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}x"

for li, line in enumerate(lines):
    print(f"### redis-benchmark {line}\n")
    print("| test | NativeKv rps | Redis rps | Garnet rps | Ceiling rps | NativeKv/Redis | NativeKv/Garnet "
          "| NativeKv/Ceiling | Redis/Ceiling | NativeKv p50/p99 ms | Redis p50/p99 ms | Garnet p50/p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = [k for k in order if k[0] == li]
    if not keys:
        print("| (no results) | | | | | | | | | | | |")
    for key in keys:
        m = {s: (med(data[key].get(s, []), 0), med(data[key].get(s, []), 1), med(data[key].get(s, []), 2))
             for s in names}
        nk, rd, gn, ce = m["nativekv"][0], m["redis"][0], m["garnet"][0], m["ceiling"][0]
        print(f"| {key[1]} | {rps_s(nk)} | {rps_s(rd)} | {rps_s(gn)} | {rps_s(ce)} | {ratio(nk, rd)} | {ratio(nk, gn)} | "
              f"{ratio(nk, ce)} | {ratio(rd, ce)} | "
              + " | ".join(lat_s(m[s][1], m[s][2]) for s in ("nativekv", "redis", "garnet")) + " |")
    print()
    for (server, test, why), rounds in notes.get(li, {}).items():
        what = "the line" if test == "*" else test
        print(f"- {names.get(server, server)}, {what}: {why} (round {', '.join(rounds)})")
    if li in notes:
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
