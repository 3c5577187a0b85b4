#!/usr/bin/env bash
# For air-gapped machines without Docker Hub: build the Dockerfile's base image from Debian
# packages (debootstrap bookworm with python3, which is 3.11) and import it under the official
# image's name. The host's CA bundle goes into the image so pip/uv inside builds trust a
# TLS-inspecting proxy. The rootfs tarball is cached, so a second run only re-imports it.
# Usage: docker/make-offline-base-image.sh [IMAGE_NAME]   (default python:3.11-slim-bookworm)
# Env: DOCKER_HOST (else ML_ON_AWS_DOCKER_HOST, else the socket of start-dockerd.sh),
#      DEBIAN_MIRROR (else the first Debian URI in /etc/apt/sources*), ML_ON_AWS_BASE_CACHE.
set -euo pipefail

name="${1:-python:3.11-slim-bookworm}"
cache="${ML_ON_AWS_BASE_CACHE:-/var/cache/ml-on-aws}"
tarball="$cache/bookworm-python3-rootfs.tar"
export DOCKER_HOST="${DOCKER_HOST:-${ML_ON_AWS_DOCKER_HOST:-unix:///run/ml-on-aws-docker.sock}}"

docker info >/dev/null 2>&1 || { echo "No Docker engine on $DOCKER_HOST (run docker/start-dockerd.sh)." >&2; exit 1; }
if docker image inspect "$name" >/dev/null 2>&1; then
  echo "$name already present."
  exit 0
fi

# The Debian archive this machine's apt uses (deb822 "URIs:" or one-line "deb URI suite"),
# not the security archive.
find_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ]; then files+=("$f"); fi
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '$1 == "URIs:" || $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' "${files[@]}"
}

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || {
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  }
  mirror="${DEBIAN_MIRROR:-$(find_mirror)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d /var/tmp/ml-on-aws-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm from $mirror (1-5 minutes)..." >&2
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >&2
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # Match the official image: `python`, `python3` and `python3.11` resolve, pip may install
  # system-wide (no PEP 668 marker).
  [ -x "$rootfs/usr/bin/python3.11" ] || { echo "bookworm's python3 is not 3.11?" >&2; exit 1; }
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
  ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python3.11"
  rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  mkdir -p "$cache"
  tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$name" <"$tarball" >/dev/null
echo "Imported $name from $tarball."
