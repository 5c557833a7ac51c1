#!/usr/bin/env bash
# The benchmark harness: each scenario beside its baseline, measured in the same run.
#   bash tests/bench.sh                 # full run (several minutes), report under tests/.state/bench/<timestamp>/
#   bash tests/bench.sh --smoke         # seconds, proves the harness works (CI runs this)
#   bash tests/bench.sh --out DIR --only api,producer,worker,latency,memory,failover,expiry,scaling [--expiry-rows N]
# Kafka__BootstrapServers=host:port measures against a real broker instead of the embedded one;
# INGEST_TEST_PG (a connection string) against an existing Postgres instead of tests/pg.sh's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench.sh: installing wrk (Debian package)" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
fi
if [ -z "${INGEST_TEST_PG:-}" ]; then
  INGEST_TEST_PG="$(bash tests/pg.sh start)"
  export INGEST_TEST_PG
fi
dotnet build -c Release -v quiet -nologo tests/Ingest.Benchmarks/Ingest.Benchmarks.csproj >/dev/null
exec dotnet tests/Ingest.Benchmarks/bin/Release/net10.0/Ingest.Benchmarks.dll "$@"
