#!/usr/bin/env bash
# build.sh: one entry point for building, running, testing and benchmarking NativeKv on Linux.
# Each verb says what it does as it goes; every line it prints starts with "build.sh:".
# CI runs `./build.sh test` (through .ci/run) as root in a fresh clone, with no stdin.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DEBIAN_FRONTEND=noninteractive

BIN="$ROOT/bin/nativekv"
PUBLISH_DIR="$ROOT/artifacts/publish"
# The allocation probe's server: the same AOT build with EventSource (and so the diagnostics port and the
# runtime's counters) compiled in. Built in its own artifacts folder so it never mixes with the real one.
DIAG_DIR="$ROOT/artifacts/publish-diag"
DIAG_BIN="$DIAG_DIR/nativekv"
RESULTS_DIR="$ROOT/artifacts/test-results"
LUA_STATIC_LIB="/usr/lib/x86_64-linux-gnu/liblua5.4.a"
# The AOT toolchain links with `clang` by default. NATIVEKV_LINKER=gcc (or clang-14, ...) picks another
# compiler driver; gcc is known to link the binary too.
LINKER="${NATIVEKV_LINKER:-clang}"

say() { echo "build.sh: $*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Usage: ./build.sh VERB [args...]

  prereqs            check prerequisites; as root, install the missing Debian packages
                     (liblua5.4-dev, clang, redis-server, redis-tools, python3-redis, iproute2); dotnet must exist
  publish [--force]  Native AOT publish of server/ and copy of the binary to bin/nativekv
                     (skipped while bin/nativekv is newer than every source file, unless --force)
  run [options...]   publish if stale, then run bin/nativekv --bind 127.0.0.1 --port 6379 [options...]
                     (later options override earlier ones, as with redis-server)
  test [args...]     prereqs, publish if stale, then dotnet test tests/ (extra args go to dotnet test);
                     ends with a line "N passed, N failed, N skipped"
  bench [args...]    publish if stale, then perf/compare.sh [args...] (redis-benchmark against
                     NativeKv, redis-server and Garnet; see perf/README.md)
  bench micro [...]  BenchmarkDotNet micro-benchmarks: dotnet run -c Release --project perf -- [...]
                     (quick job by default, a few minutes; --full for the real figures; --filter '*Resp*')
  bench alloc [...]  allocation probe: redis-benchmark against a server while its GC counters are read
                     over the diagnostics port; builds the Native AOT variant with EventSource support
                     into artifacts/publish-diag (if stale); --jit uses the JIT build instead
                     (perf/README.md lists the options)
  fuzz [--seconds N] [--seed S]
                     the protocol fuzzer (tests/Fuzz, tests/Integration/FuzzTests.cs) for N seconds
                     (default 300; the suite runs it for 15): random and mutated RESP on 4 connections;
                     fails on a crash, a hang, unbounded memory or leaked connections; prints the seed
  clean              remove bin/, artifacts/ and every project's bin/ and obj/ (keeps .tools/)
  help               this text

Environment: NATIVEKV_LINKER=gcc links with gcc instead of clang.
EOF
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---- prerequisites -------------------------------------------------------------------------------
# Each check is functional (is the command or file there?), so a tool installed another way counts.
# has_<item> returns 0 when present; pkg_<item> names the Debian package that provides it.
has_lua()     { [ -f "$LUA_STATIC_LIB" ]; }
has_linker()  { command -v "$LINKER" >/dev/null 2>&1; }
has_rtools()  { command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; }
has_rserver() { command -v redis-server >/dev/null 2>&1; }
# Debian's python3-redis lives in /usr/bin/python3's dist-packages (a pyenv python3 on PATH won't see it).
# The limits tests read sockets' keepalive timers with ss.
has_ss()      { command -v ss >/dev/null 2>&1; }
has_pyredis() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import redis' >/dev/null 2>&1; }

pkg_for() {
    case "$1" in
        lua) echo liblua5.4-dev ;;
        linker) if [ "$LINKER" = clang ]; then echo clang; else echo "$LINKER"; fi ;;
        rtools) echo redis-tools ;;
        rserver) echo redis-server ;;
        pyredis) echo python3-redis ;;
        ss) echo iproute2 ;;
    esac
}

# need ITEM...: make sure each item is present, installing the missing ones with apt-get as root.
need() {
    command -v dotnet >/dev/null 2>&1 \
        || die "dotnet (the .NET SDK, 9 or newer) is not on PATH and this script cannot install it; install it first"
    local missing=() item
    for item in "$@"; do
        "has_$item" || missing+=("$(pkg_for "$item")")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing: ${missing[*]} (no apt-get here: install the equivalents by hand)"
    fi
    if ! is_root; then
        say "missing Debian packages: ${missing[*]}"
        say "run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
        exit 1
    fi
    say "installing missing Debian packages: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for item in "$@"; do
        "has_$item" || die "still missing after apt-get install: $(pkg_for "$item")"
    done
    say "installed: ${missing[*]}"
}

BUILD_PREREQS=(lua linker)
ALL_PREREQS=(lua linker rtools rserver pyredis ss)

cmd_prereqs() {
    say "checking prerequisites: dotnet, liblua5.4-dev, $LINKER, redis-tools, redis-server, python3-redis, iproute2"
    need "${ALL_PREREQS[@]}"
    say "dotnet $(dotnet --version), $("$LINKER" --version | head -n1)"
    say "$(redis-server --version | cut -d' ' -f1-3), $(redis-benchmark --version)"
    say "prerequisites OK"
}

# ---- publish -------------------------------------------------------------------------------------
# The first source file (C#, project or props file) that is newer than FILE (default bin/nativekv), if any.
newer_source() {
    local ref="${1:-$BIN}"
    {
        find engine server interop \( -name obj -o -name bin \) -prune -o -type f \
            \( -name '*.cs' -o -name '*.lua' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' \) \
            -newer "$ref" -print
        find . -maxdepth 1 -type f -name '*.props' -newer "$ref" -print
    } 2>/dev/null | head -n1 || true
}

do_publish() {
    need "${BUILD_PREREQS[@]}"
    local extra=()
    [ "$LINKER" != clang ] && extra+=("-p:CppCompilerAndLinker=$LINKER")
    say "publishing (Native AOT, Release, linux-x64) into artifacts/publish"
    rm -rf "$PUBLISH_DIR"
    dotnet publish server/NativeKv.Server.csproj -c Release -r linux-x64 -o "$PUBLISH_DIR" \
        -p:LuaStaticLib="$LUA_STATIC_LIB" ${extra[@]+"${extra[@]}"} -nologo -v:minimal
    [ -x "$PUBLISH_DIR/nativekv" ] || die "publish produced no $PUBLISH_DIR/nativekv"
    mkdir -p bin
    # Only the executable goes to bin/: not the .dbg symbols nor the .pdb files (they stay in artifacts/).
    rm -f bin/nativekv.dbg bin/*.pdb
    cp "$PUBLISH_DIR/nativekv" "$BIN"
    say "bin/nativekv: $(stat -c %s "$BIN") bytes ($(du -h "$BIN" | cut -f1))"
    say "dynamic libraries: $(ldd "$BIN" | awk '{print $1}' | xargs)"
    if ldd "$BIN" | grep -q liblua; then
        say "warning: bin/nativekv links Lua dynamically; it was meant to link $LUA_STATIC_LIB statically"
    fi
}

# publish_if_stale [--force]
publish_if_stale() {
    local force="${1:-}"
    if [ "$force" != --force ] && [ -x "$BIN" ]; then
        local newer
        newer="$(newer_source)"
        if [ -z "$newer" ]; then
            say "bin/nativekv is up to date (newer than every source file); not publishing (--force to publish)"
            return 0
        fi
        say "bin/nativekv is older than ${newer#./}: publishing"
    fi
    do_publish
}

cmd_publish() {
    case "${1:-}" in
        ""|--force) publish_if_stale "${1:-}" ;;
        *) die "publish takes only --force (got: $*)" ;;
    esac
}

cmd_run() {
    publish_if_stale
    say "exec bin/nativekv --bind 127.0.0.1 --port 6379 $*"
    exec "$BIN" --bind 127.0.0.1 --port 6379 "$@"
}

# ---- test ----------------------------------------------------------------------------------------
# Prints "passed failed skipped total" from a VSTest TRX file's <Counters> element.
trx_counts() {
    python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
c = next((e for e in root.iter() if e.tag.split('}')[-1] == 'Counters'), None)
if c is None:
    sys.exit("no <Counters> in TRX")
n = lambda k: int(c.get(k, '0'))
total, passed = n('total'), n('passed')
failed = n('failed') + n('error') + n('timeout') + n('aborted')
skipped = total - passed - failed
print(passed, failed, max(skipped, 0), total)
PY
}

cmd_test() {
    cmd_prereqs
    publish_if_stale
    export NATIVEKV_BINARY="$BIN"
    say "NATIVEKV_BINARY=$NATIVEKV_BINARY"
    rm -rf "$RESULTS_DIR"
    say "dotnet test tests/NativeKv.Tests.csproj -c Release $*"
    local rc=0
    dotnet test tests/NativeKv.Tests.csproj -c Release -nologo \
        --logger "console;verbosity=minimal" \
        --logger "trx;LogFileName=results.trx" --results-directory "$RESULTS_DIR" "$@" || rc=$?
    local trx
    trx="$(find "$RESULTS_DIR" -name '*.trx' -type f 2>/dev/null | head -n1 || true)"
    if [ -z "$trx" ]; then
        say "no test results (no TRX file in artifacts/test-results): the tests did not run (build failure?)"
        say "dotnet test exited with $rc"
        exit 1
    fi
    local counts passed failed skipped total
    counts="$(trx_counts "$trx")" || die "could not read the counters from $trx"
    read -r passed failed skipped total <<<"$counts"
    say "results: ${trx#"$ROOT"/} (dotnet test exit code $rc)"
    echo "$passed passed, $failed failed, $skipped skipped"
    if [ "$total" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
        say "no tests ran"
        exit 1
    fi
    if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
        say "FAILED"
        exit 1
    fi
    say "all tests passed"
}

# ---- bench ---------------------------------------------------------------------------------------
# The server the allocation probe attaches to: bin/nativekv's code, published with EventSourceSupport=true
# (bin/nativekv has it off), in artifacts/diag-build + artifacts/publish-diag; rebuilt when a source is newer.
publish_diag_if_stale() {
    if [ -x "$DIAG_BIN" ] && [ -z "$(newer_source "$DIAG_BIN")" ]; then
        say "artifacts/publish-diag/nativekv is up to date"
        return 0
    fi
    need "${BUILD_PREREQS[@]}"
    local extra=()
    [ "$LINKER" != clang ] && extra+=("-p:CppCompilerAndLinker=$LINKER")
    say "publishing the diagnostics variant (Native AOT, EventSourceSupport=true) into artifacts/publish-diag"
    rm -rf "$DIAG_DIR"
    dotnet publish server/NativeKv.Server.csproj -c Release -r linux-x64 --artifacts-path "$ROOT/artifacts/diag-build" \
        -o "$DIAG_DIR" -p:EventSourceSupport=true -p:LuaStaticLib="$LUA_STATIC_LIB" ${extra[@]+"${extra[@]}"} \
        -nologo -v:minimal
    [ -x "$DIAG_BIN" ] || die "publish produced no $DIAG_BIN"
}

cmd_bench() {
    if [ "${1:-}" = micro ]; then
        shift
        need "${BUILD_PREREQS[@]}"
        say "dotnet run -c Release --project perf -- $*"
        exec dotnet run -c Release --project perf/NativeKv.Perf.csproj -- "$@"
    fi
    if [ "${1:-}" = alloc ]; then
        shift
        need "${BUILD_PREREQS[@]}" rtools
        local target=()
        if [ "${1:-}" = --jit ]; then
            shift
            say "dotnet build server -c Release (the JIT build; the probe switches EventSource on in its runtimeconfig)"
            dotnet build server/NativeKv.Server.csproj -c Release -nologo -v:minimal
            target=(--dll "$ROOT/server/bin/Release/net9.0/nativekv.dll")
        else
            publish_diag_if_stale
            target=(--binary "$DIAG_BIN")
        fi
        say "dotnet run -c Release --project perf -- alloc ${target[*]} $*"
        exec dotnet run -c Release --project perf/NativeKv.Perf.csproj -- alloc "${target[@]}" "$@"
    fi
    need rtools rserver
    publish_if_stale
    say "perf/compare.sh $*"
    exec bash perf/compare.sh "$@"
}

# ---- fuzz ----------------------------------------------------------------------------------------
cmd_fuzz() {
    local seconds=300 seed=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --seconds) [ $# -ge 2 ] || die "--seconds needs a value"; seconds="$2"; shift 2 ;;
            --seed) [ $# -ge 2 ] || die "--seed needs a value"; seed="$2"; shift 2 ;;
            *) die "fuzz takes --seconds N and --seed S (got: $1)" ;;
        esac
    done
    case "$seconds" in ''|*[!0-9]*) die "--seconds must be a positive number (got: $seconds)" ;; esac
    if [ -n "$seed" ]; then
        case "$seed" in *[!0-9]*) die "--seed must be a non-negative number (got: $seed)" ;; esac
    fi
    need "${BUILD_PREREQS[@]}"
    publish_if_stale
    export NATIVEKV_BINARY="$BIN" NATIVEKV_FUZZ_SECONDS="$seconds"
    [ -n "$seed" ] && export NATIVEKV_FUZZ_SEED="$seed"
    say "fuzzing bin/nativekv for $seconds s${seed:+ with seed $seed} (the seed is printed below)"
    dotnet test tests/NativeKv.Tests.csproj -c Release -nologo \
        --filter "FullyQualifiedName~FuzzTests.RandomAndMutatedInput" \
        --logger "console;verbosity=normal"
}

# ---- clean ---------------------------------------------------------------------------------------
cmd_clean() {
    say "removing bin/ artifacts/ and the bin/ obj/ folders of engine server interop tests perf"
    rm -rf bin artifacts
    local d
    for d in engine server interop tests perf; do
        rm -rf "$d/bin" "$d/obj"
    done
    rm -rf perf/BenchmarkDotNet.Artifacts
    say "clean"
}

verb="${1:-help}"
[ $# -gt 0 ] && shift
case "$verb" in
    prereqs) cmd_prereqs "$@" ;;
    publish) cmd_publish "$@" ;;
    run)     cmd_run "$@" ;;
    test)    cmd_test "$@" ;;
    bench)   cmd_bench "$@" ;;
    fuzz)    cmd_fuzz "$@" ;;
    clean)   cmd_clean "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; die "unknown verb: $verb" ;;
esac
