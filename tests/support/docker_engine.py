"""Docker for the tests: start an engine when none runs, make the base image offline, build.

The scripts in docker/ do the work so that air-gapped users can run them by hand too.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = PROJECT_ROOT / "docker"
BASE_IMAGE = "python:3.11-slim-bookworm"


class DockerUnavailable(RuntimeError):
    """The engine could not be started or an image could not be built."""


def _run(command: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> str:
    result = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise DockerUnavailable(f"{' '.join(command[:3])} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


@functools.cache
def ensure_docker() -> dict[str, str]:
    """The environment (DOCKER_HOST) of a running engine, started by docker/start-dockerd.sh if need be."""
    exports = _run(["bash", str(DOCKER_DIR / "start-dockerd.sh")], timeout=600)
    host = next(line.split("=", 1)[1] for line in exports.splitlines() if line.startswith("export DOCKER_HOST="))
    return {"DOCKER_HOST": host}


def ensure_base_image(name: str = BASE_IMAGE) -> None:
    """Import the Dockerfile's base image from Debian packages when it is not present (no Docker Hub)."""
    env = ensure_docker()
    if subprocess.run(["docker", "image", "inspect", name], env={**os.environ, **env},
                      capture_output=True).returncode == 0:
        return
    _run(["bash", str(DOCKER_DIR / "make-offline-base-image.sh"), name], env=env, timeout=900)


@functools.cache
def ensure_registry() -> str:
    """host:port of a local OCI registry (Debian's docker-registry) on loopback."""
    return _run(["bash", str(DOCKER_DIR / "start-registry.sh")], timeout=300).strip().splitlines()[-1]


def docker_build(context: Path, tag: str, env: dict[str, str], build_args: dict[str, str] | None = None) -> str:
    """``docker build --network=host -t TAG CONTEXT``; the log tail is in the error when it fails."""
    command = ["docker", "build", "--network=host", "-t", tag]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    return _run([*command, str(context)], env=env, timeout=1800)
