#!/bin/bash
# perf/auth-overhead.sh: server CPU per request and redis-benchmark throughput of NativeKv without a
# password, with requirepass (client sends AUTH via -a), and as a restricted ACL user (--user): the
# per-command security check must not cost anything measurable. Run from the repository root after
# ./build.sh publish; results go to stdout (see perf/RESULTS.md).
# Alternating rounds: no password / requirepass (+ -a) / a restricted ACL user (+ --user), fresh server each.
BIN=${BIN:-bin/nativekv}
PORT=${PORT:-7455}
for round in 1 2 3; do
  for mode in nopass requirepass acluser; do
    case $mode in
      nopass) EXTRA=(); AUTH=();;
      requirepass) EXTRA=(--requirepass benchpw); AUTH=(-a benchpw);;
      acluser) EXTRA=(--user bench on '>benchpw' '~key:*' '~counter:*' '+@all' -flushall); AUTH=(--user bench -a benchpw);;
    esac
    $BIN --port $PORT --save "" --appendonly no "${EXTRA[@]}" > /dev/null 2>&1 &
    PID=$!
    sleep 0.5
    T0=$(awk '{print $14+$15}' /proc/$PID/stat)
    OUT=$(redis-benchmark -p $PORT "${AUTH[@]}" -t set,get -n 200000 -c 50 -q 2>/dev/null | tr '\r' '\n' | grep -E "requests per second" | sed 's/ requests per second, /rps /' | tr '\n' ' ')
    T1=$(awk '{print $14+$15}' /proc/$PID/stat)
    kill $PID; wait $PID 2>/dev/null
    echo "round=$round mode=$mode server_cpu_us_per_req=$(echo "scale=2; ($T1-$T0)*10000/400000" | bc) $OUT"
  done
done
