#!/usr/bin/env bash
# Start a local OCI registry (Debian's docker-registry) on loopback to push images to in tests,
# in place of ECR's registry (moto has no /v2/ API). Plain HTTP on 127.0.0.1 needs no
# "insecure-registries" entry. Prints HOST:PORT. Idempotent.
# Usage: docker/start-registry.sh [PORT]
# Env: ML_ON_AWS_REGISTRY_PORT (5000), ML_ON_AWS_REGISTRY_STATE (/var/lib/ml-on-aws-registry).
set -euo pipefail

port="${1:-${ML_ON_AWS_REGISTRY_PORT:-5000}}"
state="${ML_ON_AWS_REGISTRY_STATE:-/var/lib/ml-on-aws-registry}"
addr="127.0.0.1:$port"

answers() { curl -fsS --noproxy '*' --max-time 5 "http://$addr/v2/" >/dev/null 2>&1; }

if answers; then
  echo "$addr"
  exit 0
fi
command -v docker-registry >/dev/null || {
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >&2
}
# Not Debian's /etc/docker/registry/config.yml: that one listens on all interfaces with htpasswd auth.
mkdir -p "$state/storage"
cat >"$state/config-$port.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/storage
  delete:
    enabled: true
http:
  addr: $addr
YAML
nohup docker-registry serve "$state/config-$port.yml" >>"$state/registry-$port.log" 2>&1 &
pid=$!
for _ in $(seq 30); do
  if answers; then
    echo "$addr"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
echo "docker-registry did not answer on $addr; last lines of $state/registry-$port.log:" >&2
tail -20 "$state/registry-$port.log" >&2
exit 1
