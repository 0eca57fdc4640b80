#!/bin/bash
# bench/workers.sh: `crier serve --workers 1` vs `--workers 2` beside nginx/nchan with 2 workers, on one
# 2-core machine, with the independent C load client (/work/shared/bench/ssebench.c, built as $SSEBENCH).
# Per server: a connect storm (10,000 subscribers connecting at once, `connect_s`), then fan-out to 10,000
# subscribers on one topic at RATES publishes/s for DUR s each. The servers run on both cores
# (taskset -c 0,1), the load client on core 1 (it shares that core with the server: its share is stated in
# docs/benchmarks.md). Wrap a run in `flock /tmp/crier-bench.lock` when others measure on the machine.
#   bench/workers.sh [RATES=12,24] [DUR=10]   (WORKERS="1 2" and NCHAN=1 by default; NODE_CLUSTER_SCHED_POLICY=none
#   lets the kernel deal the connections instead of the primary)
set -u
cd "$(dirname "$0")/.."
B=${SSEBENCH:-/tmp/ssebench}
RATES=${1:-12,24}
DUR=${2:-10}
CONNS=${CONNS:-10000}
KEY=bench-workers-key-0123456789abcdef0123456789
ulimit -n 20000
TOKEN=$(node bin/crier.js token --publish '*' --key "$KEY" --ttl 1h)

wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }

measure() { # NAME PORT SUBPATH PUBPATH BODY [HEADER]
  local name=$1 port=$2 sub=$3 pub=$4 body=$5 header=${6:-}
  local storm
  storm=$(taskset -c 1 "$B" sub -u "http://127.0.0.1:$port$sub" -c "$CONNS" -d 1 -S 16 -w 60 2>/dev/null)
  echo "$name storm $(grep -o 'connected=[0-9]* failed=[0-9]* .*connect_s=[0-9.]*' <<<"$storm")"
  sleep 2
  for rate in ${RATES//,/ }; do
    local out
    out=$(mktemp)
    taskset -c 1 "$B" sub -u "http://127.0.0.1:$port$sub" -c "$CONNS" -d $((DUR + 2)) -S 16 -w 60 >"$out" 2>/dev/null &
    local sp=$!
    for _ in $(seq 1 240); do
      [ "$(ss -tnH state established "sport = :$port" | wc -l)" -ge "$CONNS" ] && break
      sleep 0.25
    done
    sleep 1
    if [ -n "$header" ]; then
      taskset -c 1 "$B" pub -u "http://127.0.0.1:$port$pub" -r "$rate" -d "$DUR" -k 2 -b "$body" -H "$header" >/dev/null
    else
      taskset -c 1 "$B" pub -u "http://127.0.0.1:$port$pub" -r "$rate" -d "$DUR" -k 2 -b "$body" >/dev/null
    fi
    wait $sp
    echo "$name fanout rate=$rate deliveries_per_s=$((rate * CONNS)) $(grep -o 'events=[0-9]* .*' "$out")"
    rm -f "$out"
    sleep 2
  done
}

for workers in ${WORKERS:-1 2}; do
  port=$((3100 + workers))
  taskset -c 0,1 node bin/crier.js serve --port $port --workers $workers --jwt-key "$KEY" --anonymous \
    --log-level error --max-connections-per-ip 20000 --max-pending 20000 --max-pending-per-ip 20000 \
    --heartbeat 0 >/dev/null 2>&1 &
  hub=$!
  wait_port $port && sleep 1
  measure "crier-workers-$workers" $port '/.well-known/mercure?topic=bench' '/.well-known/mercure' \
    'topic=bench&data={"t":%T}' "Authorization: Bearer $TOKEN"
  kill -TERM $hub
  wait $hub
done

[ "${NCHAN:-1}" = 1 ] || exit 0
conf=$(mktemp /tmp/nchan-workers-XXXX.conf)
sed -e 's/worker_processes 1;/worker_processes 2;/' -e 's/3002/3103/' -e 's#/tmp/nchan-yardstick.pid#/tmp/nchan-workers.pid#' \
  /work/shared/bench/anchors/nchan.conf >"$conf"
taskset -c 0,1 nginx -c "$conf" -e /tmp/nchan-workers-error.log &
nginx=$!
wait_port 3103 && sleep 1
measure nchan-workers-2 3103 /events /publish 'data={"t":%T}'
kill -TERM $nginx
wait $nginx
rm -f "$conf"
