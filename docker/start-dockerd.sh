#!/usr/bin/env bash
# Start a private Docker engine when none answers, for machines (CI, sandboxes) that have the
# docker client but no running daemon. Its own socket, data, exec and pid paths keep it apart from
# any system engine. Prints the DOCKER_HOST to export. Idempotent.
# Usage: eval "$(docker/start-dockerd.sh)"
# Env: ML_ON_AWS_DOCKER_HOST (else DOCKER_HOST, else unix:///run/ml-on-aws-docker.sock),
#      ML_ON_AWS_DOCKER_DATA_ROOT (/var/lib/ml-on-aws-docker), ML_ON_AWS_DOCKER_EXEC_ROOT
#      (/run/ml-on-aws-docker), ML_ON_AWS_DOCKER_LOG (/var/log/ml-on-aws-docker.log).
set -euo pipefail

host="${ML_ON_AWS_DOCKER_HOST:-${DOCKER_HOST:-unix:///run/ml-on-aws-docker.sock}}"
data_root="${ML_ON_AWS_DOCKER_DATA_ROOT:-/var/lib/ml-on-aws-docker}"
exec_root="${ML_ON_AWS_DOCKER_EXEC_ROOT:-/run/ml-on-aws-docker}"
pidfile="$exec_root.pid"
log="${ML_ON_AWS_DOCKER_LOG:-/var/log/ml-on-aws-docker.log}"

answers() { DOCKER_HOST="$host" timeout 10 docker info >/dev/null 2>&1; }

# Wait up to 60 s for the engine with pid $1 to answer; fail early if it exits.
wait_for() {
  for _ in $(seq 60); do
    answers && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

start() {  # $1: storage driver
  # No bridge or iptables: containers share the host network (`--network=host`), which needs
  # no privileges beyond the daemon's and reaches the package proxy like the host does.
  mkdir -p "$data_root" "$exec_root" "$(dirname "$log")"
  echo "Starting dockerd ($1) on $host, log $log" >&2
  nohup dockerd -H "$host" --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" \
    --storage-driver "$1" --iptables=false --ip-masq=false --bridge=none >>"$log" 2>&1 &
  pid=$!
  wait_for "$pid" && return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  return 1
}

if answers; then
  echo "export DOCKER_HOST=$host"
  exit 0
fi
command -v docker >/dev/null || { echo "No docker client on PATH." >&2; exit 1; }
# An engine we started earlier may still be coming up: wait for it instead of starting a second.
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  if wait_for "$(cat "$pidfile")"; then echo "export DOCKER_HOST=$host"; exit 0; fi
  echo "dockerd $(cat "$pidfile") from $pidfile does not answer on $host; stop it first." >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "Installing docker.io (dockerd is missing)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2
fi

if ! start overlay2; then
  echo "overlay2 storage failed here (see $log); falling back to vfs (slower, more disk)." >&2
  if ! start vfs; then
    echo "dockerd did not start on $host; last lines of $log:" >&2
    tail -25 "$log" >&2
    exit 1
  fi
fi
echo "export DOCKER_HOST=$host"
