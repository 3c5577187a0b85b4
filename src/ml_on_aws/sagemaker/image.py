"""Build the project's image and push it to ECR (or any OCI registry): ``kedro sagemaker push-image``.

The image is tagged with the git commit, so a job's image names the code it runs; the
launcher refuses to start a job when no image of the current commit has been pushed (the
push is recorded in ``.sagemaker/pushed-image.json``, git-ignored).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_on_aws.sagemaker.config import ImageConfig

PUSH_RECORD = Path(".sagemaker") / "pushed-image.json"


def pushed_image_uri(project_path: Path, commit: str) -> str | None:
    """The image URI ``push-image`` pushed for ``commit``, if it did."""
    record_file = project_path / PUSH_RECORD
    if not record_file.is_file():
        return None
    record = json.loads(record_file.read_text())
    return record["uri"] if record.get("commit") == commit else None


def record_push(project_path: Path, commit: str, uri: str) -> None:
    record_file = project_path / PUSH_RECORD
    record_file.parent.mkdir(exist_ok=True)
    record_file.write_text(json.dumps({"commit": commit, "uri": uri}, indent=2) + "\n")


def image_tag(image: ImageConfig, commit: str, now: datetime) -> str:
    """``image.tag``, else the commit; a dirty tree gets a time suffix so that it never takes
    the clean commit's (immutable) tag."""
    if image.tag:
        return image.tag
    return f"{commit}-{now:%Y%m%d%H%M%S}" if commit.endswith("-dirty") else commit


def ensure_repository(ecr: Any, image: ImageConfig) -> str:
    """The repository's URI; created (scan on push, immutable tags) when it does not exist."""
    ids = {"registryId": image.account_id} if image.account_id else {}
    try:
        found = ecr.describe_repositories(repositoryNames=[image.repository], **ids)
        return found["repositories"][0]["repositoryUri"]
    except ecr.exceptions.RepositoryNotFoundException:
        created = ecr.create_repository(
            repositoryName=image.repository,
            imageScanningConfiguration={"scanOnPush": image.scan_on_push},
            imageTagMutability="IMMUTABLE" if image.immutable_tags else "MUTABLE",
            **ids,
        )
        return created["repository"]["repositoryUri"]


def ecr_login(ecr: Any, image: ImageConfig, registry: str, docker: Callable[..., Any]) -> None:
    """``docker login`` to ``registry`` with a 12-hour token from ECR's API."""
    ids = {"registryIds": [image.account_id]} if image.account_id else {}
    data = ecr.get_authorization_token(**ids)["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    docker("login", "--username", user, "--password-stdin", registry, stdin=password)


def push_image(
    image: ImageConfig,
    project_path: Path,
    commit: str,
    echo: Callable[[str], None],
    *,
    session: Any = None,
    now: datetime | None = None,
) -> str:
    """Build, tag and push the image; return its URI (``registry/repository:tag``).

    With ``image.registry`` unset the registry is the account's ECR (repository created when
    missing, login by ECR token). With ``image.registry`` set and ``image.use_ecr`` true, ECR's
    API still manages the repository and credentials while the bytes go to that host (a VPC
    endpoint or a mirror); with ``use_ecr`` false any OCI registry works (log in yourself).
    """
    docker = _docker(project_path)
    registry = image.registry
    if image.use_ecr:
        ecr = session.client("ecr")
        repository_uri = ensure_repository(ecr, image)
        registry = registry or repository_uri.split("/", 1)[0]
        ecr_login(ecr, image, registry, docker)
    if not registry:
        raise ValueError("image.registry: required when image.use_ecr is false")
    tag = image_tag(image, commit, now or datetime.now(UTC))
    uri = f"{registry}/{image.repository}:{tag}"
    echo(f"Building {uri} for {image.platform}")
    docker(
        "build", "--platform", image.platform, "--file", image.dockerfile,
        "--tag", uri, "--label", f"org.opencontainers.image.revision={commit}",
        *image.build_options, image.context,
    )
    docker("push", uri)
    if image.moving_tag:
        moving = f"{registry}/{image.repository}:{image.moving_tag}"
        docker("tag", uri, moving)
        docker("push", moving)
    record_push(project_path, commit, uri)
    echo(uri)
    return uri


def _docker(cwd: Path) -> Callable[..., subprocess.CompletedProcess]:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], cwd=cwd, input=stdin, text=True, check=True)

    return run
