"""`kedro sagemaker push-image`: ECR's API on moto, the image bytes to a local OCI registry.

moto has no registry (/v2/) API, so the push goes to Debian's docker-registry on 127.0.0.1
through the registry override, while the repository and the login token come from moto's ECR.
The image is a two-line Dockerfile: this tests the push, not the project's image.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import boto3
import pytest

from tests.conftest import KEDRO
from tests.support.docker_engine import (
    BASE_IMAGE,
    ensure_base_image,
    ensure_docker,
    ensure_registry,
)

from .conftest import REGION

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def docker(monkeypatch, tmp_path) -> str:
    for key, value in ensure_docker().items():
        monkeypatch.setenv(key, value)
    ensure_base_image()
    # `docker login` writes here, not into the user's ~/.docker.
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return ensure_registry()


def _git_commit(project) -> str:
    def git(*args):
        return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=project,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "project")
    return git("rev-parse", "--short=12", "HEAD")


def test_push_image_creates_the_repository_logs_in_and_pushes_the_commit_tag(project, aws, docker):
    (project / "Dockerfile.small").write_text(f"FROM {BASE_IMAGE}\nCOPY conf /opt/project/conf\n")
    (project / "conf" / "pushtest").mkdir()
    (project / "conf" / "pushtest" / "sagemaker.yml").write_text(
        "region: eu-west-1\n"
        "image:\n  dockerfile: Dockerfile.small\n  build_options: ['--network=host']\n  moving_tag: latest\n"
        "  immutable_tags: false\n"
    )
    commit = _git_commit(project)

    result = subprocess.run(
        [KEDRO, "sagemaker", "push-image", "--env", "pushtest", "--registry", docker],
        cwd=project, capture_output=True, text=True, timeout=900,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    uri = f"{docker}/ml-on-aws:{commit}"
    assert result.stdout.strip().splitlines()[-1] == uri
    with urllib.request.urlopen(f"http://{docker}/v2/ml-on-aws/tags/list") as response:
        assert {commit, "latest"} <= set(json.load(response)["tags"])
    [repository] = boto3.client("ecr", region_name=REGION).describe_repositories()["repositories"]
    assert repository["repositoryName"] == "ml-on-aws"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "MUTABLE"
    # The launcher finds this image for this commit.
    assert json.loads((project / ".sagemaker" / "pushed-image.json").read_text()) == {"commit": commit, "uri": uri}
    labels = subprocess.run(["docker", "image", "inspect", uri, "--format", "{{json .Config.Labels}}"],
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(labels)["org.opencontainers.image.revision"] == commit


def test_a_failed_build_fails_the_command_and_records_no_push(project, aws, docker):
    (project / "Dockerfile.broken").write_text(f"FROM {BASE_IMAGE}\nRUN exit 3\n")
    (project / "conf" / "pushtest").mkdir()
    (project / "conf" / "pushtest" / "sagemaker.yml").write_text(
        "image:\n  dockerfile: Dockerfile.broken\n  build_options: ['--network=host']\n"
    )

    result = subprocess.run(
        [KEDRO, "sagemaker", "push-image", "--env", "pushtest", "--registry", docker],
        cwd=project, capture_output=True, text=True, timeout=900,
    )

    assert result.returncode != 0
    assert "`docker build ...` failed" in result.stderr
    assert not (project / ".sagemaker" / "pushed-image.json").exists()
