#!/usr/bin/env bash
# Start a local OCI registry (Debian's docker-registry) on 127.0.0.1 to push images to in tests,
# in place of ECR's registry. Idempotent. Usage: docker/start-registry.sh [PORT]
set -euo pipefail

port="${1:-${ML_ON_AWS_REGISTRY_PORT:-5000}}"
state="${ML_ON_AWS_REGISTRY_STATE:-/var/lib/ml-on-aws-registry}"

if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
  echo "127.0.0.1:$port"
  exit 0
fi
command -v docker-registry >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry
}
mkdir -p "$state/storage"
cat >"$state/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $state/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
nohup docker-registry serve "$state/config.yml" >"$state/registry.log" 2>&1 &
for _ in $(seq 30); do
  if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
    echo "127.0.0.1:$port"
    exit 0
  fi
  sleep 1
done
echo "docker-registry did not answer on 127.0.0.1:$port:" >&2
tail -20 "$state/registry.log" >&2
exit 1
