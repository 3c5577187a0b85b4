"""Docker for the tests: start an engine when none runs, make the base image offline, build.

The scripts in docker/ do the work so that air-gapped users can run them by hand too.
Typical fixture::

    env = ensure_docker()            # {**os.environ, "DOCKER_HOST": "unix:///..."}
    ensure_base_image()
    docker_build(PROJECT_ROOT, "ml-on-aws:test", env)
    registry = ensure_registry()     # "127.0.0.1:5000"
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = PROJECT_ROOT / "docker"
BASE_IMAGE = "python:3.11-slim-bookworm"


class DockerUnavailable(RuntimeError):
    """The engine could not be started or an image could not be built."""


def _run(command: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> str:
    """Run ``command`` (stderr merged into stdout); on failure raise with the last 40 lines."""
    try:
        result = subprocess.run(command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise DockerUnavailable(f"{' '.join(command[:5])} timed out after {timeout} s") from error
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise DockerUnavailable(f"{' '.join(command[:5])} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def ensure_docker() -> dict[str, str]:
    """Environment for ``subprocess`` docker calls: ``os.environ`` as it is now plus the
    ``DOCKER_HOST`` of a running engine, started by docker/start-dockerd.sh if need be (once per
    process). Only the host is remembered: a copy of ``os.environ`` taken while one test had set
    its variables would hand them to every later test."""
    return {**os.environ, "DOCKER_HOST": _docker_host()}


@functools.cache
def _docker_host() -> str:
    exports = _run(["bash", str(DOCKER_DIR / "start-dockerd.sh")], timeout=600)
    host = next((line.split("=", 1)[1] for line in exports.splitlines()
                 if line.startswith("export DOCKER_HOST=")), None)
    if host is None:
        raise DockerUnavailable(f"start-dockerd.sh printed no DOCKER_HOST:\n{exports}")
    return host


def ensure_base_image(name: str = BASE_IMAGE) -> None:
    """Import the Dockerfile's base image from Debian packages when it is absent (no Docker Hub)."""
    env = ensure_docker()
    if subprocess.run(["docker", "image", "inspect", name], env=env, capture_output=True).returncode == 0:
        return
    _run(["bash", str(DOCKER_DIR / "make-offline-base-image.sh"), name], env=env, timeout=900)


@functools.cache
def ensure_registry() -> str:
    """``host:port`` of a local OCI registry (Debian's docker-registry) on loopback."""
    return _run(["bash", str(DOCKER_DIR / "start-registry.sh")], timeout=300).strip().splitlines()[-1]


@functools.cache
def ensure_skopeo() -> str:
    """Path of ``skopeo`` (reads manifests straight from a registry), installed from Debian if missing."""
    found = shutil.which("skopeo")
    if found is None:
        _run(["apt-get", "update", "-qq"], timeout=600)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "skopeo"],
             env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
        found = shutil.which("skopeo")
    if found is None:
        raise DockerUnavailable("skopeo is not on PATH after `apt-get install skopeo`")
    return found


def docker_build(context: Path | str, tag: str, env: dict[str, str],
                 build_args: dict[str, str] | None = None) -> str:
    """``docker build --network=host -t TAG CONTEXT``; the build log tail is in the error on failure."""
    command = ["docker", "build", "--network=host", "-t", tag]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    return _run([*command, str(context)], env=env, timeout=1800)
