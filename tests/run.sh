#!/usr/bin/env bash
# Installs and starts what the tests need, then runs the whole suite.
#   bash tests/run.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Worker]
# Broker: INGEST_TEST_KAFKA=host:port uses an existing one; otherwise Testcontainers when a Docker
# engine answers; otherwise a real one-node Kafka from ../shared/kafka when that folder exists (developers'
# machines and CI: started here once, shared by every test process through INGEST_TEST_KAFKA_DIR, stopped at
# the end); otherwise librdkafka's in-process mock cluster (chosen by the test fixture). The fault matrix's real
# broker cells share one three-node cluster from the same folder, started and stopped by their test collection.
# Postgres: INGEST_TEST_PG (a connection string) uses an existing server; otherwise a private
# cluster from tests/pg.sh (installs Debian's postgresql when missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "tests/run.sh: the .NET SDK (dotnet) is not on PATH; install .NET SDK 10 first" >&2
  exit 1
fi

# The status page is tested in a real headless browser: Debian's Chromium.
if ! command -v chromium >/dev/null 2>&1; then
  echo "run.sh: installing chromium (Debian package) for the browser tests" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi

# Ingest.Api builds its browser recorder with npm (Ingest.Recorder/Recorder.targets): Debian's nodejs and npm.
if ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: installing nodejs and npm (Debian packages) to build the browser recorder" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
fi

if [ -z "${INGEST_TEST_PG:-}" ]; then
  INGEST_TEST_PG="$(bash tests/pg.sh start)"
  export INGEST_TEST_PG
fi
echo "run.sh: Postgres: ${INGEST_TEST_PG}"

kafka_sh="$root/../shared/kafka/kafka.sh"
if [ -n "${INGEST_TEST_KAFKA:-}" ]; then
  echo "run.sh: Kafka: ${INGEST_TEST_KAFKA} (INGEST_TEST_KAFKA)"
elif command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1; then
  echo "run.sh: Kafka: Testcontainers (a Docker engine answers)"
elif [ -f "$kafka_sh" ]; then
  export INGEST_TEST_KAFKA_DIR="${INGEST_TEST_KAFKA_DIR:-$root/tests/.state/kafka-suite}"
  bash "$kafka_sh" stop --dir "$INGEST_TEST_KAFKA_DIR" >/dev/null 2>&1 || true
  rm -rf "$INGEST_TEST_KAFKA_DIR" "$INGEST_TEST_KAFKA_DIR.lock"
  port=29092
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null; do
    port=$((port + 10))
  done
  kafka_started=$(date +%s)
  bootstrap="$(bash "$kafka_sh" start --dir "$INGEST_TEST_KAFKA_DIR" --brokers 1 --port "$port" | tail -n 1)"
  trap 'bash "$kafka_sh" stop --dir "$INGEST_TEST_KAFKA_DIR" >/dev/null 2>&1 || true' EXIT
  echo "run.sh: Kafka: real Apache Kafka from ../shared/kafka, one node at ${bootstrap} (started in $(( $(date +%s) - kafka_started )) s; state in ${INGEST_TEST_KAFKA_DIR})"
else
  echo "run.sh: Kafka: librdkafka's mock cluster in each test process (no INGEST_TEST_KAFKA, no Docker engine, no ../shared/kafka)"
fi

results="$root/TestResults"
rm -rf "$results"
started=$(date +%s)
status=0
# --blame-hang-timeout turns a hung test into a dump and a failure instead of a silent CI time-out.
dotnet test Ingest.sln -c Release \
  --results-directory "$results" \
  --logger "trx" \
  --logger "console;verbosity=normal" \
  --blame-hang-timeout 10m \
  "$@" || status=$?

# One closing line over all test assemblies: "tests: N passed, N failed, N skipped".
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
# Each failed test by name with the first lines of its message, at the end where CI's tail shows it.
failures=""
if [ "$failed" -ne 0 ]; then
  failures="$(awk '
    /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); inside = 1; printed = 0; print "FAILED " name; next }
    inside && /<Message>/ { msg = 1; sub(/.*<Message>/, "") }
    inside && msg { line = $0; done = sub(/<\/Message>.*/, "", line); if (printed < 8) { print "    " line; printed++ } if (done) { msg = 0; inside = 0 } }
  ' "$results"/*.trx | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g')"
fi

# A short smoke of the benchmark harness (seconds per scenario): proves it runs, measures nothing.
bench_status=0
if [ "${INGEST_SKIP_BENCH_SMOKE:-}" != 1 ]; then
  echo "run.sh: benchmark harness smoke (bash tests/bench.sh --smoke)"
  bash tests/bench.sh --smoke --out "$results/bench-smoke" >"$results/bench-smoke.log" 2>&1 || bench_status=$?
  if [ "$bench_status" -eq 0 ] && [ -s "$results/bench-smoke/report.json" ]; then
    grep -E '^\|' "$results/bench-smoke/report.md" || true
  else
    echo "run.sh: benchmark smoke FAILED (exit $bench_status); last lines of $results/bench-smoke.log:" >&2
    tail -n 30 "$results/bench-smoke.log" >&2
    bench_status=1
  fi
fi

echo "run.sh: wall time $(( $(date +%s) - started )) s"
[ -z "$failures" ] || echo "$failures"
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$bench_status" -ne 0 ]; then
  exit 1
fi
if [ "$passed" -eq 0 ]; then
  echo "run.sh: no test ran" >&2
  exit 1
fi
