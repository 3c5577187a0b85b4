#!/usr/bin/env bash
# For air-gapped machines without Docker Hub: build the Dockerfile's base image from Debian
# packages (debootstrap bookworm with python3) and import it under the official image's name.
# The host's CA bundle goes into the image so pip/uv inside builds trust a TLS-inspecting proxy.
# Usage: docker/make-offline-base-image.sh [IMAGE_NAME]   (default python:3.11-slim-bookworm)
set -euo pipefail

name="${1:-python:3.11-slim-bookworm}"
cache="${ML_ON_AWS_BASE_CACHE:-/var/cache/ml-on-aws}"
tarball="$cache/bookworm-python3-rootfs.tar"

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "$name already present."
  exit 0
fi
if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  }
  mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm from $mirror (about a minute)..." >&2
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >&2
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # Match the official image: `python` and `python3.11` resolve, pip may install system-wide.
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
  mkdir -p "$cache"
  tar -C "$rootfs" -cf "$tarball" .
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$tarball" "$name" >/dev/null
echo "Imported $name from $tarball."
