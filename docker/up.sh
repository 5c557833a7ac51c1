#!/usr/bin/env bash
# Starts the whole Ingest pipeline in the foreground; Ctrl-C/SIGTERM stops everything cleanly and in order.
#   bash docker/up.sh [--workers N] [--brokers 1|3]   (brokers: compose default 1, embedded default 3)
# With a Docker engine: docker/compose.yaml (real Kafka in KRaft mode, Postgres, kafka-ui, api, worker).
# Without one: a private local Postgres (tests/pg.sh) and the EMBEDDED, NON-DURABLE broker
# (librdkafka's mock cluster), API and N workers as local processes.
# Kafka__BootstrapServers / ConnectionStrings__Ingest point it at existing ones instead.
# Ports: INGEST_HTTP_PORT (API, 8080), INGEST_WORKER_PORT_BASE (first worker, API port + 1), INGEST_DEV_PG_PORT (55433).
# State (logs, bootstrap): INGEST_DEV_DIR (tests/.state/dev). The database lives in its pg/ unless the postgres user
# cannot reach it (a clone in a private directory): then in /var/tmp/ingest-dev-pg-<hash of the state path>.
# Add or remove a worker replica while it runs: bash docker/worker.sh N (see there).
set -euo pipefail
started_ns="$(date +%s%N)"
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
# The dev-only /demo page's project: a key that can only ingest (the page holds it) and a read key for its replay.
demo_ingest_key="dev-demo-ingest-key"
demo_ingest_key_sha256="$(printf '%s' "$demo_ingest_key" | sha256sum | cut -d' ' -f1)"
demo_read_key_sha256="$(printf '%s' dev-demo-read-key | sha256sum | cut -d' ' -f1)"

if [ -z "${Kafka__BootstrapServers:-}" ] && [ -z "${ConnectionStrings__Ingest:-}" ] \
   && command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1; then
  echo "up.sh: Docker engine found: docker/compose.yaml with real Kafka (KRaft), ${workers} worker(s)"
  echo "up.sh: API on http://127.0.0.1:${http_port}  dev key: Authorization: Bearer ${dev_key}"
  echo "up.sh: demo on http://127.0.0.1:${http_port}/demo  (replay read key: dev-demo-read-key)"
  export INGEST_HTTP_PORT="$http_port" INGEST_DEV_KEY_SHA256="$dev_key_sha256" \
    INGEST_DEMO_INGEST_KEY="$demo_ingest_key" INGEST_DEMO_INGEST_KEY_SHA256="$demo_ingest_key_sha256" \
    INGEST_DEMO_READ_KEY_SHA256="$demo_read_key_sha256"
  files=(-f docker/compose.yaml)
  if [ "${brokers:-1}" = 3 ]; then files+=(-f docker/compose.ha.yaml); fi
  exec docker compose "${files[@]}" up --build --scale "worker=${workers}"
fi

state="${INGEST_DEV_DIR:-$root/tests/.state/dev}"
mkdir -p "$state/logs"
pids=()          # every child, for wait -n
broker_pid=""
worker_pids=()
api_pid=""

# Children run in sessions of their own (setsid): Ctrl-C in the terminal, or a signal to up.sh's process group, reaches
# only up.sh, which stops them in order instead of all at once (the broker first would leave the workers draining
# against "all brokers are down").
stop_group() { # <what> <pid>...: SIGTERM to all, then wait for all
  local what="$1"; shift
  [ $# -gt 0 ] || return 0
  echo "up.sh: stopping $what"
  kill -TERM "$@" 2>/dev/null || true
  local pid
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

stop_all() {
  trap - INT TERM HUP EXIT
  echo
  echo "up.sh: stopping in order: API (nothing new is accepted), workers (drain, commit, leave the group), broker, Postgres"
  stop_group "the API" ${api_pid:+"$api_pid"}
  stop_group "the workers" ${worker_pids[@]+"${worker_pids[@]}"}
  stop_group "the embedded broker" ${broker_pid:+"$broker_pid"}
  rm -f "$state/stack.env"
  if [ -n "${own_pg:-}" ]; then echo "up.sh: stopping Postgres"; INGEST_PG_DIR="$pg_dir" INGEST_PG_PORT="$pg_port" bash tests/pg.sh stop; fi
  echo "up.sh: stopped"
  exit "${1:-0}"
}
trap 'stop_all 0' INT TERM HUP
trap 'stop_all $?' EXIT

if ! command -v npm >/dev/null 2>&1; then
  echo "up.sh: installing nodejs and npm (Debian packages) to build the browser recorder"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
echo "up.sh: building (Release)"
# One build of the three (docker/dev-stack.slnf: API, worker, embedded broker) rather than one each: with nothing to
# compile it takes a third of the time (9.7 s against 26.2 s, measured back to back), the shared projects checked once.
dotnet build -c Release -v quiet -nologo docker/dev-stack.slnf >"$state/logs/build.log" \
  || { cat "$state/logs/build.log"; exit 1; }

built_ns="$(date +%s%N)"

if [ -z "${ConnectionStrings__Ingest:-}" ]; then
  pg_port="${INGEST_DEV_PG_PORT:-55433}"
  pg_dir="$state/pg"
  # initdb and postgres run as the postgres user when this runs as root: it must be able to reach the data directory.
  # A clone in a private directory (a 0700 mktemp directory, a home directory) is out of its reach, so the database
  # goes to /var/tmp instead, under a name kept per state directory (the same clone finds its data again).
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$state" 2>/dev/null; then
    pg_dir="/var/tmp/ingest-dev-pg-$(printf '%s' "$state" | sha256sum | cut -c1-12)"
    echo "up.sh: the postgres user cannot reach $state: the private database lives in $pg_dir"
  fi
  admin="$(INGEST_PG_DIR="$pg_dir" INGEST_PG_PORT="$pg_port" bash tests/pg.sh start)"
  own_pg=1
  psql_args=(-h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(psql "${psql_args[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='ingest'")" != "1" ]; then
    psql "${psql_args[@]}" -d postgres -c "CREATE DATABASE ingest" >/dev/null
  fi
  export ConnectionStrings__Ingest="${admin/Database=postgres/Database=ingest}"
  echo "up.sh: Postgres (private, loopback): ${ConnectionStrings__Ingest}"
fi

if [ -z "${Kafka__BootstrapServers:-}" ]; then
  rm -f "$state/bootstrap"
  setsid dotnet tests/Ingest.DevStack/bin/Release/net10.0/Ingest.DevStack.dll \
    --brokers "${brokers:-3}" --partitions "${INGEST_DEV_PARTITIONS:-12}" --topic "${Ingest__Topic:-ingest.payloads}" \
    --bootstrap-file "$state/bootstrap" >"$state/logs/broker.log" 2>&1 &
  broker_pid="$!"
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
  setsid dotnet Ingest.Worker/bin/Release/net10.0/Ingest.Worker.dll --urls "http://127.0.0.1:${port}" \
    ${extra_kafka[@]+"${extra_kafka[@]}"} >"$state/logs/worker-$n.log" 2>&1 &
  worker_pids+=("$!")
  pids+=("$!")
  echo "up.sh: worker $n on http://127.0.0.1:${port} (log: $state/logs/worker-$n.log)"
done

setsid dotnet Ingest.Api/bin/Release/net10.0/Ingest.Api.dll --urls "http://127.0.0.1:${http_port}" \
  "--Ingest:Projects:dev:Keys:0:Sha256=${dev_key_sha256}" "--Ingest:Projects:dev:Keys:0:Scopes=ingest,read,erase" \
  "--Api:Demo:Enabled=true" "--Api:Demo:Project=demo" "--Api:Demo:IngestKey=${demo_ingest_key}" \
  "--Ingest:Projects:demo:Keys:0:Sha256=${demo_ingest_key_sha256}" "--Ingest:Projects:demo:Keys:0:Scopes=ingest" \
  "--Ingest:Projects:demo:Keys:1:Sha256=${demo_read_key_sha256}" "--Ingest:Projects:demo:Keys:1:Scopes=read" \
  "--Ingest:Projects:demo:AllowedOrigins:0=http://127.0.0.1:${http_port}" "--Ingest:Projects:demo:AllowedOrigins:1=http://localhost:${http_port}" \
  >"$state/logs/api.log" 2>&1 &
api_pid="$!"
pids+=("$!")

# "Up" means the README's curls answer at once: the API is ready (its producer reaches the broker) and every worker is
# ready (its start-up checks passed and it is a member of the group; GET /readyz on the worker's port).
ready_urls=("http://127.0.0.1:${http_port}/readyz")
ready_logs=("$state/logs/api.log")
for (( n=1; n<=workers; n++ )); do
  ready_urls+=("http://127.0.0.1:$((worker_port_base + n - 1))/readyz")
  ready_logs+=("$state/logs/worker-$n.log")
done
deadline=$(( $(date +%s) + ${INGEST_DEV_READY_TIMEOUT:-120} ))
pending=("${!ready_urls[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  still=()
  for i in "${pending[@]}"; do
    curl -fsS -o /dev/null --max-time 2 "${ready_urls[$i]}" 2>/dev/null || still+=("$i")
  done
  pending=(${still[@]+"${still[@]}"})
  [ ${#pending[@]} -gt 0 ] || break
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "up.sh: a process exited during start-up (see $state/logs)" >&2; exit 1; }
  done
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for i in "${pending[@]}"; do
      echo "up.sh: not ready: ${ready_urls[$i]} answers $(curl -sS --max-time 2 "${ready_urls[$i]}" 2>&1 | head -c 300); log: ${ready_logs[$i]}" >&2
      tail -n 10 "${ready_logs[$i]}" >&2
    done
    exit 1
  fi
  sleep 0.1
done
up_ns="$(date +%s%N)"
seconds() { local ms=$(( ($2 - $1) / 1000000 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

echo
echo "Ingest is up in $(seconds "$started_ns" "$up_ns") s ($(seconds "$started_ns" "$built_ns") s building, $(seconds "$built_ns" "$up_ns") s starting): the API and ${workers} worker(s) ready."
echo "  API:      http://127.0.0.1:${http_port}   (log: $state/logs/api.log)"
echo "  Dev key:  Authorization: Bearer ${dev_key}   (project 'dev', scopes ingest,read,erase)"
echo "  Broker:   ${Kafka__BootstrapServers}"
echo "Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
echo "up.sh: a process exited; stopping the rest (see $state/logs)" >&2
stop_all 1
