#!/usr/bin/env bash
# Starts the whole Ingest pipeline in the foreground; Ctrl-C/SIGTERM stops everything cleanly.
#   bash docker/up.sh [--workers N] [--brokers 1|3]   (brokers: compose default 1, embedded default 3)
# With a Docker engine: docker/compose.yaml (real Kafka in KRaft mode, Postgres, kafka-ui, api, worker).
# Without one: a private local Postgres (tests/pg.sh) and the EMBEDDED, NON-DURABLE broker
# (librdkafka's mock cluster), API and N workers as local processes.
# Kafka__BootstrapServers / ConnectionStrings__Ingest point it at existing ones instead.
# Ports: INGEST_HTTP_PORT (API, 8080), INGEST_WORKER_PORT_BASE (first worker, API port + 1), INGEST_DEV_PG_PORT (55433).
# Add or remove a worker replica while it runs: bash docker/worker.sh N (see there).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

workers=1
brokers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --workers)
      [ $# -ge 2 ] || { echo "up.sh: --workers needs a number" >&2; exit 2; }
      workers="$2"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    --brokers)
      [ $# -ge 2 ] || { echo "up.sh: --brokers needs 1 or 3" >&2; exit 2; }
      brokers="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument '$1' (usage: bash docker/up.sh [--workers N] [--brokers 1|3])" >&2; exit 2 ;;
  esac
done
case "$workers" in ''|*[!0-9]*) echo "up.sh: --workers must be a whole number, got '$workers'" >&2; exit 2 ;; esac
if [ "$workers" -lt 1 ] || [ "$workers" -gt 32 ]; then echo "up.sh: --workers must be 1-32" >&2; exit 2; fi
case "$brokers" in ''|1|3) ;; *) echo "up.sh: --brokers must be 1 or 3, got '$brokers'" >&2; exit 2 ;; esac

command -v curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

http_port="${INGEST_HTTP_PORT:-8080}"
dev_key="dev-ingest-key"
dev_key_sha256="$(printf '%s' "$dev_key" | sha256sum | cut -d' ' -f1)"

if [ -z "${Kafka__BootstrapServers:-}" ] && [ -z "${ConnectionStrings__Ingest:-}" ] \
   && command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1; then
  echo "up.sh: Docker engine found: docker/compose.yaml with real Kafka (KRaft), ${workers} worker(s)"
  echo "up.sh: API on http://127.0.0.1:${http_port}  dev key: Authorization: Bearer ${dev_key}"
  export INGEST_HTTP_PORT="$http_port" INGEST_DEV_KEY_SHA256="$dev_key_sha256"
  files=(-f docker/compose.yaml)
  if [ "${brokers:-1}" = 3 ]; then files+=(-f docker/compose.ha.yaml); fi
  exec docker compose "${files[@]}" up --build --scale "worker=${workers}"
fi

state="${INGEST_DEV_DIR:-$root/tests/.state/dev}"
mkdir -p "$state/logs"
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "up.sh: stopping (API first, so nothing new is accepted; then workers drain and commit)"
  local i
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -f "$state/stack.env"
  if [ -n "${own_pg:-}" ]; then INGEST_PG_DIR="$state/pg" INGEST_PG_PORT="$pg_port" bash tests/pg.sh stop; fi
  echo "up.sh: stopped"
  exit "${1:-0}"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT

if ! command -v npm >/dev/null 2>&1; then
  echo "up.sh: installing nodejs and npm (Debian packages) to build the browser recorder"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
echo "up.sh: building (Release)"
dotnet build -c Release -v quiet -nologo Ingest.Api/Ingest.Api.csproj >"$state/logs/build-api.log" \
  || { cat "$state/logs/build-api.log"; exit 1; }
dotnet build -c Release -v quiet -nologo Ingest.Worker/Ingest.Worker.csproj >"$state/logs/build-worker.log" \
  || { cat "$state/logs/build-worker.log"; exit 1; }

if [ -z "${ConnectionStrings__Ingest:-}" ]; then
  pg_port="${INGEST_DEV_PG_PORT:-55433}"
  admin="$(INGEST_PG_DIR="$state/pg" INGEST_PG_PORT="$pg_port" bash tests/pg.sh start)"
  own_pg=1
  psql_args=(-h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(psql "${psql_args[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='ingest'")" != "1" ]; then
    psql "${psql_args[@]}" -d postgres -c "CREATE DATABASE ingest" >/dev/null
  fi
  export ConnectionStrings__Ingest="${admin/Database=postgres/Database=ingest}"
  echo "up.sh: Postgres (private, loopback): ${ConnectionStrings__Ingest}"
fi

if [ -z "${Kafka__BootstrapServers:-}" ]; then
  dotnet build -c Release -v quiet -nologo tests/Ingest.DevStack/Ingest.DevStack.csproj >"$state/logs/build-devstack.log" \
    || { cat "$state/logs/build-devstack.log"; exit 1; }
  rm -f "$state/bootstrap"
  dotnet tests/Ingest.DevStack/bin/Release/net10.0/Ingest.DevStack.dll \
    --brokers "${brokers:-3}" --partitions "${INGEST_DEV_PARTITIONS:-12}" --topic "${Ingest__Topic:-ingest.payloads}" \
    --bootstrap-file "$state/bootstrap" &
  pids+=("$!")
  for _ in $(seq 1 300); do [ -s "$state/bootstrap" ] && break; sleep 0.1; done
  [ -s "$state/bootstrap" ] || { echo "up.sh: the embedded broker did not start" >&2; exit 1; }
  export Kafka__BootstrapServers="$(cat "$state/bootstrap")"
  # An empty Fetch on the mock waits the full fetch.wait.max.ms (500 ms by default).
  extra_kafka=("--Kafka:fetch.wait.max.ms=10")
else
  extra_kafka=()
  echo "up.sh: Kafka: ${Kafka__BootstrapServers}"
  # Topics first, with durable settings (what compose's kafka-init does): a worker or the API reaching an empty broker
  # first would let its auto-creation make them with the broker's defaults, and the workers' durability check would
  # find nothing to check. Existing topics are left as they are (their partitions are never changed).
  dotnet build -c Release -v quiet -nologo tests/Ingest.Ops/Ingest.Ops.csproj >"$state/logs/build-ops.log" \
    || { cat "$state/logs/build-ops.log"; exit 1; }
  dotnet tests/Ingest.Ops/bin/Release/net10.0/ingest-ops.dll topics ensure --partitions "${INGEST_DEV_PARTITIONS:-12}" \
    | sed 's/^/up.sh: topic /' \
    || { echo "up.sh: could not provision the topics on ${Kafka__BootstrapServers} (see above)" >&2; exit 1; }
fi

# 8081, 8082, … by default; follows INGEST_HTTP_PORT so two stacks can run side by side.
worker_port_base="${INGEST_WORKER_PORT_BASE:-$((http_port + 1))}"

# What docker/worker.sh needs to add a replica to this running stack (removed when the stack stops).
{
  printf 'INGEST_STACK_WORKER_PORT_BASE=%q\n' "$worker_port_base"
  printf 'export Kafka__BootstrapServers=%q\n' "$Kafka__BootstrapServers"
  printf 'export ConnectionStrings__Ingest=%q\n' "$ConnectionStrings__Ingest"
  printf 'INGEST_DEV_WORKER_ARGS=(%s)\n' "${extra_kafka[*]:-}"
} >"$state/stack.env"

for (( n=1; n<=workers; n++ )); do
  port=$((worker_port_base + n - 1))
  dotnet Ingest.Worker/bin/Release/net10.0/Ingest.Worker.dll --urls "http://127.0.0.1:${port}" \
    "${extra_kafka[@]}" >"$state/logs/worker-$n.log" 2>&1 &
  pids+=("$!")
  echo "up.sh: worker $n on http://127.0.0.1:${port} (log: $state/logs/worker-$n.log)"
done

dotnet Ingest.Api/bin/Release/net10.0/Ingest.Api.dll --urls "http://127.0.0.1:${http_port}" \
  "--Ingest:Projects:dev:Keys:0:Sha256=${dev_key_sha256}" "--Ingest:Projects:dev:Keys:0:Scopes=ingest,read,erase" \
  "--Api:Demo:Enabled=true" "--Api:Demo:Project=demo" "--Api:Demo:IngestKey=dev-demo-ingest-key" \
  "--Ingest:Projects:demo:Keys:0:Sha256=$(printf '%s' dev-demo-ingest-key | sha256sum | cut -d' ' -f1)" "--Ingest:Projects:demo:Keys:0:Scopes=ingest" \
  "--Ingest:Projects:demo:Keys:1:Sha256=$(printf '%s' dev-demo-read-key | sha256sum | cut -d' ' -f1)" "--Ingest:Projects:demo:Keys:1:Scopes=read" \
  "--Ingest:Projects:demo:AllowedOrigins:0=http://127.0.0.1:${http_port}" "--Ingest:Projects:demo:AllowedOrigins:1=http://localhost:${http_port}" \
  >"$state/logs/api.log" 2>&1 &
pids+=("$!")

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:${http_port}/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:${http_port}/readyz" >/dev/null 2>&1 \
  || { echo "up.sh: the API did not become ready; see $state/logs/api.log" >&2; tail -n 20 "$state/logs/api.log" >&2; exit 1; }

echo
echo "Ingest is up."
echo "  API:      http://127.0.0.1:${http_port}   (log: $state/logs/api.log)"
echo "  Dev key:  Authorization: Bearer ${dev_key}   (project 'dev', scopes ingest,read,erase)"
echo "  Broker:   ${Kafka__BootstrapServers}"
echo "Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
echo "up.sh: a process exited; stopping the rest (see $state/logs)" >&2
stop_all 1
