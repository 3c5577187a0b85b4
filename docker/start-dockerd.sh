#!/usr/bin/env bash
# Start a private Docker engine when none answers, for machines (CI, sandboxes) that have the
# docker client but no running daemon. Prints the DOCKER_HOST to export. Idempotent.
# Usage: eval "$(docker/start-dockerd.sh)"
set -euo pipefail

host="${ML_ON_AWS_DOCKER_HOST:-${DOCKER_HOST:-unix:///run/ml-on-aws-docker.sock}}"
state="${ML_ON_AWS_DOCKER_STATE:-/var/lib/ml-on-aws-docker}"
log="${state}.log"

if DOCKER_HOST="$host" docker info >/dev/null 2>&1; then
  echo "export DOCKER_HOST=$host"
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "Installing docker.io (dockerd is missing)..." >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi

start() {  # $1: storage driver
  mkdir -p "$state"
  # No bridge or iptables: containers share the host network (`--network=host`), which needs
  # no privileges beyond the daemon's and reaches the package proxy like the host does.
  nohup dockerd --host "$host" --data-root "$state/data" --exec-root "$state/exec" \
    --pidfile "$state/dockerd.pid" --storage-driver "$1" \
    --iptables=false --ip-masq=false --bridge=none >"$log" 2>&1 &
  for _ in $(seq 60); do
    DOCKER_HOST="$host" docker info >/dev/null 2>&1 && return 0
    kill -0 $! 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

if ! start overlay2; then
  echo "overlay2 storage failed on this filesystem; falling back to vfs (slower, more disk)." >&2
  [ -f "$state/dockerd.pid" ] && kill "$(cat "$state/dockerd.pid")" 2>/dev/null || true
  sleep 2
  if ! start vfs; then
    echo "dockerd did not start; last lines of $log:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
fi
echo "export DOCKER_HOST=$host"
