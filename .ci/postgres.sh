#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests.
#
#   .ci/postgres.sh start DIR   install PostgreSQL from the system packages if missing, start a
#                               cluster in DIR (an empty or missing folder) on a free local port,
#                               create a database and print its URL (the only line on stdout)
#   .ci/postgres.sh stop DIR    stop that cluster and delete DIR
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user
# (created if missing); otherwise to the calling user. It listens on 127.0.0.1 only, with a random
# password, fsync off (the data is thrown away).
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] && command -v pg_ctl >/dev/null; then
    found=$(dirname "$(command -v pg_ctl)")
  fi
  echo "$found"
}

install_postgres() {
  log "PostgreSQL not found: installing it from the system packages"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}

run_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
    return
  fi
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  echo postgres
}

# Run a command as the cluster's owner (a no-op switch when that is us).
as_owner() {
  local owner=$1
  shift
  if [ "$owner" = "$(id -un)" ]; then
    "$@"
  else
    runuser -u "$owner" -- "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir=$1 bin owner port password
  bin=$(bindir)
  if [ -z "$bin" ]; then
    install_postgres
    bin=$(bindir)
  fi
  [ -n "$bin" ] || { log "no PostgreSQL binaries after installing"; exit 1; }
  owner=$(run_user)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" >"$dir/pwfile"
  chown -R "$owner" "$dir"
  chmod 700 "$dir"
  as_owner "$owner" "$bin/initdb" -D "$dir/data" -U swarm --pwfile="$dir/pwfile" \
    --auth=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port=$(free_port)
  as_owner "$owner" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U swarm swarm_test
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port in $dir"
  echo "postgresql://swarm:$password@127.0.0.1:$port/swarm_test"
}

stop() {
  local dir=$1 bin owner
  [ -d "$dir/data" ] || { rm -rf "$dir"; return; }
  bin=$(bindir)
  owner=$(stat -c %U "$dir/data")
  as_owner "$owner" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: postgres.sh start DIR}" ;;
  stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
  *) echo "usage: $0 start DIR | stop DIR" >&2; exit 2 ;;
esac
