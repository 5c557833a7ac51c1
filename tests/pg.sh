#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and the dev stack: its own data directory, its own port,
# loopback only, trust auth for the local superuser. initdb/postgres refuse to run as root, so they
# run as the `postgres` user. Usage:
#   bash tests/pg.sh start   # installs postgresql if missing, starts the cluster, prints the connection string
#   bash tests/pg.sh stop
#   bash tests/pg.sh env     # prints `export INGEST_TEST_PG=...` for eval
# INGEST_PG_DIR (default /tmp/ingest-pg) and INGEST_PG_PORT (default 55432) choose where. As root, every directory
# above INGEST_PG_DIR must be searchable by the postgres user (a clone in a 0700 mktemp directory is not): start says
# so in one line and exits 1 instead of letting initdb fail ("could not access directory …: Permission denied").
set -euo pipefail

dir="${INGEST_PG_DIR:-/tmp/ingest-pg}"
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
port="${INGEST_PG_PORT:-55432}"
conn="Host=127.0.0.1;Port=${port};Username=postgres;Database=postgres"

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_postgres() {
  # From /: the postgres user may not be able to enter the caller's working directory (initdb and psql warn then).
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

install_if_missing() {
  bindir >/dev/null && return 0
  echo "pg.sh: installing PostgreSQL (Debian package 'postgresql')" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir >/dev/null || { echo "pg.sh: PostgreSQL binaries not found after install" >&2; exit 1; }
}

# The first directory above $dir that the postgres user cannot search, if any (only matters as root).
unreachable_parent() {
  [ "$(id -u)" = 0 ] || return 1
  local d; d="$(dirname "$dir")"
  local blocked=""
  while :; do
    runuser -u postgres -- test -x "$d" 2>/dev/null || blocked="$d"
    [ "$d" = / ] && break
    d="$(dirname "$d")"
  done
  [ -n "$blocked" ] && { echo "$blocked"; return 0; }
  return 1
}

start() {
  install_if_missing
  local bin; bin="$(bindir)"
  mkdir -p "$dir"
  local blocked
  if blocked="$(unreachable_parent)"; then
    echo "pg.sh: the postgres user (initdb and postgres refuse to run as root) cannot reach $dir: $blocked is private (mode $(stat -c %a "$blocked")); set INGEST_PG_DIR to a directory it can reach, e.g. INGEST_PG_DIR=/var/tmp/ingest-pg-\$USER" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    echo "$conn"
    return 0
  fi
  # Loopback only; socket in the data dir so no system directory is needed. More connections than
  # the default 100: parallel test classes each hold pools for API and workers. Commit timestamps: the
  # benchmark's end-to-end latency ends when a row is committed (stored_at is its transaction's start).
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c shared_buffers=256MB -c fsync=on -c track_commit_timestamp=on" >/dev/null
  echo "$conn"
}

stop() {
  local bin; bin="$(bindir)" || return 0
  [ -f "$dir/PG_VERSION" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export INGEST_TEST_PG='$(start)'" ;;
  *) echo "usage: bash tests/pg.sh start|stop|env" >&2; exit 2 ;;
esac
