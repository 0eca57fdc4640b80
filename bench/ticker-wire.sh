#!/bin/bash
# Bytes per event on a real hub's ticker stream, per --ids form, without and with delta=1
# (docs/hub.md "Event IDs", docs/library.md "Delta updates"). Needs `npm run build`. Run it under the
# benchmark lock: flock /tmp/crier-bench.lock bench/ticker-wire.sh
cd "$(dirname "$0")/.." || exit 1
topic='https%3A%2F%2Fcrier.example%2Fticker%2F%7Bsymbol%7D'
out=$(mktemp -d)
for form in "uuid" "sequence" "opaque --ids-key an-ids-key-of-32-characters-long!"; do
  port=$((39000 + RANDOM % 1000))
  # shellcheck disable=SC2086
  taskset -c 0 node bin/crier.js serve --dev --port "$port" --log-level silent --ids $form >/dev/null 2>&1 &
  pid=$!
  sleep 3
  taskset -c 1 timeout 6 curl -sN "http://127.0.0.1:$port/.well-known/mercure?topic=$topic" >"$out/plain.txt" &
  taskset -c 1 timeout 6 curl -sN "http://127.0.0.1:$port/.well-known/mercure?topic=$topic&delta=1" >"$out/delta.txt" &
  wait %2 %3 2>/dev/null
  kill "$pid"
  wait "$pid" 2>/dev/null
  for f in plain delta; do
    bytes=$(wc -c <"$out/$f.txt")
    events=$(grep -c '^data:' "$out/$f.txt")
    echo "ids=${form%% *} $f: $events events, $bytes bytes, $(echo "scale=1; $bytes/$events" | bc) B/event"
  done
done
rm -rf "$out"
