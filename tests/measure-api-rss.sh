#!/usr/bin/env bash
# Measures the API under large and small payloads on the dev stack (docker/up.sh: mock broker, private Postgres,
# one worker, the API as its own process), and prints:
#   - 202 latency p50/p99 of 1 KB and 1 MiB payloads, sequential (LAT_1KB / LAT_1MIB requests each)
#   - peak RSS of the API process (VmHWM) while CLIENTS clients each upload one SIZE_MIB payload concurrently
#   bash tests/measure-api-rss.sh            # CLIENTS=20 SIZE_MIB=100 LAT_1KB=500 LAT_1MIB=100
# Note: on the mock broker (5 MiB per partition) 20 concurrent 100 MiB uploads outrun the worker, so some are not
# stored (the worker counts the gaps as data loss); the API still receives, chunks and produces every byte, which
# is what this measures. Needs curl; uses its own ports and state directory, and stops what it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

clients="${CLIENTS:-20}"
size_mib="${SIZE_MIB:-100}"
lat_small="${LAT_1KB:-500}"
lat_large="${LAT_1MIB:-100}"
port="${INGEST_HTTP_PORT:-18080}"
state="$root/tests/.state/measure"
key="dev-ingest-key"
api="http://127.0.0.1:${port}"
mkdir -p "$state/data"

INGEST_HTTP_PORT="$port" INGEST_DEV_DIR="$state" INGEST_DEV_PG_PORT="${INGEST_DEV_PG_PORT:-55434}" \
  bash docker/up.sh --workers 1 >"$state/up.log" 2>&1 &
stack=$!
cleanup() { kill -TERM "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 900); do
  curl -fsS "$api/readyz" >/dev/null 2>&1 && break
  kill -0 "$stack" 2>/dev/null || { echo "measure: the dev stack exited; see $state/up.log" >&2; tail -n 20 "$state/up.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$api/readyz" >/dev/null || { echo "measure: API not ready; see $state/up.log" >&2; exit 1; }
pid="$(pgrep -f "Ingest.Api.dll --urls http://127.0.0.1:${port}" | head -n 1)"
[ -n "$pid" ] || { echo "measure: API process not found" >&2; exit 1; }

# Recording-like JSON (LZ4 ratio ~3, as measured for real recordings), generated once.
make_json() { # $1 bytes, $2 file
  awk -v n="$1" 'BEGIN { srand(7); s = "{\"events\":["; while (length(s) < n) {
      s = s sprintf("{\"type\":3,\"timestamp\":%d,\"data\":{\"source\":%d,\"id\":%d,\"x\":%d,\"y\":%d}},",
        1700000000000 + int(rand() * 1000000), int(rand() * 6), int(rand() * 5000), int(rand() * 1920), int(rand() * 1080));
      if (length(s) > 65536) { printf "%s", s; n -= length(s); s = "" } }
    printf "%s", substr(s, 1, n) }' >"$2"
}
[ -s "$state/data/1k.json" ] || make_json 1024 "$state/data/1k.json"
[ -s "$state/data/1m.json" ] || make_json 1048576 "$state/data/1m.json"
[ -s "$state/data/big.json" ] || make_json $((size_mib * 1048576)) "$state/data/big.json"

post() { # $1 file, $2 session, $3 seq -> "code seconds"
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "@$1" "$api/v1/sessions/$2/payloads?seq=$3"
}
percentiles() { # stdin: "code seconds" lines -> p50/p99 in ms of the 202s
  awk '$1 == 202 { print $2 * 1000 }' | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "no 202"; exit }
    p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
    printf "n=%d p50=%.1f ms p99=%.1f ms\n", NR, p50, p99 }'
}

run="$(date +%s)"
for i in $(seq 1 20); do post "$state/data/1k.json" "warm-$run" "$i" >/dev/null; done
echo "measure: 202 latency, 1 KB, sequential:  $(for i in $(seq 1 "$lat_small"); do post "$state/data/1k.json" "lat1k-$run" "$i"; done | percentiles)"
echo "measure: 202 latency, 1 MiB, sequential: $(for i in $(seq 1 "$lat_large"); do post "$state/data/1m.json" "lat1m-$run" "$i"; done | percentiles)"

before="$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")"
echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || echo "measure: could not reset VmHWM; the peak includes the latency runs" >&2
started=$(date +%s.%N)
uploads=()
for c in $(seq 1 "$clients"); do post "$state/data/big.json" "rss-$run-$c" 0 >"$state/client-$c.out" & uploads+=("$!"); done
wait "${uploads[@]}" || true
elapsed="$(echo "$(date +%s.%N) - $started" | bc)"
codes="$(cat "$state"/client-*.out | awk '{ print $1 }' | sort | uniq -c | tr '\n' ' ')"
hwm="$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
echo "measure: ${clients} clients x ${size_mib} MiB concurrently in ${elapsed} s; answers: ${codes}"
echo "measure: API RSS before ${before} kB; peak (VmHWM) $((hwm / 1024)) MiB"
