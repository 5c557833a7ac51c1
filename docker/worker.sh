#!/usr/bin/env bash
# Adds worker replica N to a dev stack that docker/up.sh (without Docker) is running, in the foreground:
#   bash docker/worker.sh N          # N = 2, 3, …: health/metrics on the stack's first worker port + N-1 (8081+N-1)
# It joins the group ingest-worker; cooperative-sticky assignment moves only the partitions it takes over.
# Remove it again with Ctrl-C or SIGTERM (kill <pid>): it drains its lanes, commits and leaves the group, and
# the other workers take its partitions over. Same broker, database and settings as the stack's own workers
# (read from the stack's state directory, INGEST_DEV_DIR, default tests/.state/dev).
# With compose instead: docker compose -f docker/compose.yaml up -d --scale worker=N.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
  ''|*[!0-9]*) echo "worker.sh: usage: bash docker/worker.sh N (the replica's number, 1-32)" >&2; exit 2 ;;
esac
n="$1"
if [ "$n" -lt 1 ] || [ "$n" -gt 32 ]; then echo "worker.sh: N must be 1-32, got $n" >&2; exit 2; fi

state="${INGEST_DEV_DIR:-$root/tests/.state/dev}"
if [ ! -s "$state/stack.env" ]; then
  echo "worker.sh: no dev stack is running ($state/stack.env is missing): start bash docker/up.sh first" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$state/stack.env"
dll="Ingest.Worker/bin/Release/net10.0/Ingest.Worker.dll"
[ -f "$dll" ] || { echo "worker.sh: $dll is missing: bash docker/up.sh builds it" >&2; exit 1; }

port=$(( ${INGEST_WORKER_PORT_BASE:-${INGEST_STACK_WORKER_PORT_BASE:-8081}} + n - 1 ))
echo "worker.sh: worker $n on http://127.0.0.1:${port} (Ctrl-C or SIGTERM removes it: drain, commit, leave the group)" >&2
exec dotnet "$dll" --urls "http://127.0.0.1:${port}" "${INGEST_DEV_WORKER_ARGS[@]}"
