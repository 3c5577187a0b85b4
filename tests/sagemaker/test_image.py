"""`kedro sagemaker push-image`: ECR's API on moto, the image bytes to a local OCI registry.

moto has no registry (/v2/) API, so the push goes to Debian's docker-registry on 127.0.0.1
through the registry override, while the repository and the login token come from moto's ECR.
The image is a two-line Dockerfile: this tests the push, not the project's image. moto keeps
no image bytes either, so a test that needs ECR to hold a pushed tag tells moto's ECR
(`put_image`) what real ECR holds after that push: the manifest the registry received.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

import boto3
import pytest

from ml_on_aws.control.image import DOCKER_V2_MANIFEST, PushRefused, push_image
from ml_on_aws.sagemaker.config import ImageConfig
from tests.conftest import KEDRO
from tests.support.docker_engine import (
    BASE_IMAGE,
    PROJECT_ROOT,
    ensure_base_image,
    ensure_docker,
    ensure_registry,
    ensure_skopeo,
)

from .conftest import REGION


def _docker_test(test):
    """The tests that build and push (the others stop before Docker, or fake it)."""
    return pytest.mark.docker(pytest.mark.slow(test))


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


@_docker_test
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


@_docker_test
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


def _push(project, *options):
    return subprocess.run(
        [KEDRO, "sagemaker", "push-image", "--env", "pushtest", *options],
        cwd=project, capture_output=True, text=True, timeout=900,
    )


def _small_project(project, dockerfile: str, build_options: str = "['--network=host']") -> str:
    """The project with a small Dockerfile, conf/pushtest/sagemaker.yml and the project's own
    .gitignore and .dockerignore, committed; its commit."""
    for name in (".gitignore", ".dockerignore"):
        shutil.copy2(PROJECT_ROOT / name, project / name)
    (project / "Dockerfile.small").write_text(f"FROM {BASE_IMAGE}\n{dockerfile}\n")
    (project / "conf" / "pushtest").mkdir()
    (project / "conf" / "pushtest" / "sagemaker.yml").write_text(
        f"region: eu-west-1\nimage:\n  dockerfile: Dockerfile.small\n  build_options: {build_options}\n"
    )
    return _git_commit(project)


def _ecr_holds(registry: str, tag: str) -> tuple[str, str]:
    """Give moto's ECR what ECR holds after ``push-image`` pushed ``tag``: the manifest the registry
    received, under its digest. Returns (manifest digest, config digest)."""
    request = urllib.request.Request(
        f"http://{registry}/v2/ml-on-aws/manifests/{tag}", headers={"Accept": DOCKER_V2_MANIFEST}
    )
    with urllib.request.urlopen(request) as response:
        manifest = response.read().decode()
        digest = response.headers["Docker-Content-Digest"]
    boto3.client("ecr", region_name=REGION).put_image(
        repositoryName="ml-on-aws", imageManifest=manifest, imageManifestMediaType=DOCKER_V2_MANIFEST,
        imageTag=tag, imageDigest=digest,
    )
    return digest, json.loads(manifest)["config"]["digest"]


def test_untracked_files_under_src_or_conf_stop_a_push_tagged_with_the_commit(project, tripwire):
    _small_project(project, "COPY conf /opt/project/conf")
    (project / "src" / "ml_on_aws").mkdir()
    (project / "src" / "ml_on_aws" / "scratch.py").write_text("x = 1\n")
    (project / "conf" / "base" / "extra.yml").write_text("a: 1\n")
    (project / "conf" / "local" / "mine.yml").write_text("a: 1\n")  # git-ignored: not an input of the tag

    result = _push(project, "--registry", "127.0.0.1:5000")

    assert result.returncode != 0
    error = " ".join(result.stderr.split())
    assert "untracked files would go into the image but not into its tag" in error, result.stderr
    assert "src/ml_on_aws/scratch.py" in error and "conf/base/extra.yml" in error
    assert "conf/local" not in error
    assert "image.tag" in error
    assert not (project / ".sagemaker" / "pushed-image.json").exists()
    assert tripwire == []  # refused before any AWS call (and before building)


@_docker_test
def test_a_second_push_of_the_same_commit_and_image_is_recognised_and_not_pushed_again(project, aws, docker):
    commit = _small_project(project, "COPY conf /opt/project/conf")
    (project / "conf" / "local" / "mine.yml").write_text("a: 1\n")  # git-ignored, docker-ignored: no effect
    uri = f"{docker}/ml-on-aws:{commit}"

    first = _push(project, "--registry", docker)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert "The push refers to repository" in first.stdout
    digest, _ = _ecr_holds(docker, commit)
    [repository] = boto3.client("ecr", region_name=REGION).describe_repositories()["repositories"]
    assert repository["imageTagMutability"] == "IMMUTABLE"  # ECR would refuse a second push of the tag

    second = _push(project, "--registry", docker)

    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    lines = second.stdout.strip().splitlines()
    assert f"{uri} is already pushed: the registry holds this very image ({digest}); not pushed again." in lines
    assert "The push refers to repository" not in second.stdout
    assert lines[-1] == uri
    # With the registry's digest of the image, which jobs record in their models' lineage.
    assert json.loads((project / ".sagemaker" / "pushed-image.json").read_text()) == {
        "commit": commit, "uri": uri, "digest": digest}


@_docker_test
def test_a_second_push_of_the_same_commit_with_another_image_is_refused(project, aws, docker):
    # Not reproducible on purpose: each build of the same commit is another image.
    commit = _small_project(project, "RUN date +%s%N > /built-at", "['--network=host', '--no-cache']")
    uri = f"{docker}/ml-on-aws:{commit}"
    first = _push(project, "--registry", docker)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    digest, config_digest = _ecr_holds(docker, commit)

    second = _push(project, "--registry", docker)

    assert second.returncode != 0, second.stdout[-2000:]
    rebuilt = subprocess.run(["docker", "image", "inspect", uri, "--format", "{{.Id}}"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert rebuilt != config_digest
    error = " ".join(second.stderr.split())
    assert f"Not pushed: {uri} already holds another image: {digest} (config {config_digest}) there, {rebuilt} built here." in error
    assert "commit your change" in error and "set image.tag" in error
    assert "The push refers to repository" not in second.stdout.split("Building", 2)[-1]


@_docker_test
def test_the_pushed_manifest_is_docker_v2_schema_2_for_linux_amd64_without_attestations(project, tripwire, docker):
    commit = _small_project(project, "COPY conf /opt/project/conf")
    skopeo = ensure_skopeo()

    result = _push(project, "--registry", docker, "--no-ecr")

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    reference = f"docker://{docker}/ml-on-aws:{commit}"
    raw = json.loads(subprocess.run([skopeo, "inspect", "--raw", "--tls-verify=false", reference],
                                    capture_output=True, text=True, check=True).stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert "manifests" not in raw  # an image index, the only place attestation manifests live
    assert raw["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert {layer["mediaType"] for layer in raw["layers"]} == {"application/vnd.docker.image.rootfs.diff.tar.gzip"}
    config = json.loads(subprocess.run([skopeo, "inspect", "--config", "--tls-verify=false", reference],
                                       capture_output=True, text=True, check=True).stdout)
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert tripwire == []  # --no-ecr: no AWS call


FAKE_DOCKER = """#!{python}
# A docker client with buildx (BuildKit) whose registry holds what push=true builds pushed.
import json, os, sys
args = sys.argv[1:]
state = os.environ["FAKE_DOCKER_STATE"]
with open(os.path.join(state, "calls"), "a") as log:
    log.write(json.dumps(args) + "\\n")
pushed = os.path.join(state, "pushed")
if args[:2] == ["buildx", "version"]:
    print("github.com/docker/buildx v0.23.0")
elif args[:2] == ["buildx", "build"]:
    if "--metadata-file" in args:
        with open(args[args.index("--metadata-file") + 1], "w") as out:
            json.dump({{"containerimage.digest": "sha256:" + "a" * 64, "containerimage.config.digest": "sha256:" + "c" * 64}}, out)
    if any(arg.endswith("push=true") for arg in args):
        open(pushed, "w").close()
elif args[:2] == ["image", "inspect"]:
    sys.exit("Error: No such image")  # docker-container driver: the image stays in the builder
elif args[:2] == ["manifest", "inspect"]:
    if not os.path.exists(pushed):
        sys.exit("no such manifest: " + args[-1])
    media_type = os.environ.get("FAKE_DOCKER_MEDIA_TYPE", "application/vnd.docker.distribution.manifest.v2+json")
    print(json.dumps({{"Descriptor": {{"mediaType": media_type, "digest": "sha256:" + "a" * 64}},
                      "SchemaV2Manifest": {{"config": {{"digest": "sha256:" + "c" * 64}}}}}}))
"""


@pytest.fixture
def fake_buildx(tmp_path, monkeypatch):
    """``docker`` on PATH is FAKE_DOCKER; returns the list of its calls (each an argv list) so far."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable))
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_STATE", str(tmp_path))
    calls = tmp_path / "calls"
    return lambda: [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def test_with_buildx_the_build_asks_for_docker_v2_media_types_and_no_attestations(tmp_path, fake_buildx):
    image = ImageConfig(registry="registry.example:5000", use_ecr=False, moving_tag="latest")
    uri = push_image(image, tmp_path, "0123456789ab", lambda line: None)

    assert uri == "registry.example:5000/ml-on-aws:0123456789ab"
    builds = [call for call in fake_buildx() if call[:2] == ["buildx", "build"] or call[:1] in (["build"], ["push"])]
    assert [call[:2] for call in builds] == [["buildx", "build"], ["buildx", "build"]]
    for build, push in zip(builds, ("push=false", "push=true"), strict=True):
        assert build[build.index("--platform") + 1] == "linux/amd64"
        assert "--provenance=false" in build and "--sbom=false" in build
        assert build[build.index("--output") + 1] == f"type=image,oci-mediatypes=false,{push}"
    assert "--metadata-file" in builds[0]
    tags = [builds[1][i + 1] for i, arg in enumerate(builds[1]) if arg == "--tag"]
    assert tags == [uri, "registry.example:5000/ml-on-aws:latest"]
    assert json.loads((tmp_path / ".sagemaker" / "pushed-image.json").read_text())["uri"] == uri


def test_a_push_that_lands_as_an_oci_manifest_is_reported_and_not_recorded(tmp_path, fake_buildx, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_MEDIA_TYPE", "application/vnd.oci.image.manifest.v1+json")
    image = ImageConfig(registry="registry.example:5000", use_ecr=False)

    with pytest.raises(PushRefused, match=re.escape("pushed as application/vnd.oci.image.manifest.v1+json, not a Docker v2")):
        push_image(image, tmp_path, "0123456789ab", lambda line: None)
    assert not (tmp_path / ".sagemaker" / "pushed-image.json").exists()
