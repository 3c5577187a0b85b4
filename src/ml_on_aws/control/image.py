"""Build the project's image and push it to ECR (or any OCI registry): ``kedro sagemaker push-image``.

The image is tagged with the git commit, so a job's image names the code it runs; the
launcher refuses to start a job when no image of the current commit has been pushed (the
push is recorded in ``.sagemaker/pushed-image.json``, git-ignored).

A tag is pushed once: before pushing, the registry is asked what it holds under the tag. The
same image (its manifest or config digest is the one just built) is not pushed again; another
image is refused, since ECR's immutable tags refuse it anyway and a commit tag must name one
image. For the same reason untracked files under ``src/`` or ``conf/`` (they go into the image,
not into the commit) stop a push tagged with the commit.

Builds push a Docker v2 schema 2 manifest without attestations (SageMaker's CreateModel refuses
OCI indexes and BuildKit's provenance): with buildx (BuildKit) ``--provenance=false --sbom=false``
and ``oci-mediatypes=false``; the classic builder makes such images anyway and rejects those flags.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_on_aws.sagemaker.config import ImageConfig

PUSH_RECORD = Path(".sagemaker") / "pushed-image.json"
DOCKER_V2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_MEDIA_TYPES = (
    DOCKER_V2_MANIFEST,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


class PushRefused(RuntimeError):
    """``push-image`` stopped before (or right after) pushing; the message says why and what to do."""


@dataclass(frozen=True)
class RemoteImage:
    """What a registry holds under a tag: the manifest's digest and media type, and the digest of
    the image configuration it names (None for an index)."""

    digest: str
    media_type: str
    config_digest: str | None

    def is_one_of(self, local_ids: set[str]) -> bool:
        """Whether it is the local image: the classic image store's image ID is the config digest,
        the containerd store's (and a repo digest's) is the manifest digest."""
        return bool({self.digest, self.config_digest} & local_ids)


def _push_record(project_path: Path, commit: str) -> dict[str, Any] | None:
    record_file = project_path / PUSH_RECORD
    if not record_file.is_file():
        return None
    record = json.loads(record_file.read_text())
    return record if record.get("commit") == commit else None


def pushed_image_uri(project_path: Path, commit: str) -> str | None:
    """The image URI ``push-image`` pushed for ``commit``, if it did."""
    record = _push_record(project_path, commit)
    return record["uri"] if record else None


def pushed_image_digest(project_path: Path, commit: str, uri: str) -> str | None:
    """The registry's digest of ``uri`` when ``push-image`` pushed it for ``commit`` and saw it."""
    record = _push_record(project_path, commit)
    return record.get("digest") if record and record.get("uri") == uri else None


def record_push(project_path: Path, commit: str, uri: str, digest: str | None = None) -> None:
    """Remember the push of ``uri`` for ``commit``, with the manifest digest the registry reported."""
    record_file = project_path / PUSH_RECORD
    record_file.parent.mkdir(exist_ok=True)
    entry = {"commit": commit, "uri": uri, **({"digest": digest} if digest else {})}
    record_file.write_text(json.dumps(entry, indent=2) + "\n")


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


def untracked_inputs(project_path: Path) -> list[str]:
    """Files under ``src/`` or ``conf/`` that git neither tracks nor ignores: the Dockerfile copies
    them into the image, but the commit tag does not name them. [] outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "--", "src", "conf"],
            cwd=project_path, capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return listed.splitlines()


def ecr_image(ecr: Any, image: ImageConfig, tag: str) -> RemoteImage | None:
    """What ECR holds under ``tag`` in the repository (``BatchGetImage``), None when nothing."""
    ids = {"registryId": image.account_id} if image.account_id else {}
    found = ecr.batch_get_image(
        repositoryName=image.repository, imageIds=[{"imageTag": tag}],
        acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES), **ids,
    )
    if not found.get("images"):
        failures = [item for item in found.get("failures", []) if item.get("failureCode") != "ImageNotFound"]
        if failures:
            raise PushRefused(
                f"ECR did not say whether {image.repository}:{tag} exists: "
                f"{failures[0].get('failureCode')}: {failures[0].get('failureReason')}"
            )
        return None
    got = found["images"][0]
    manifest = json.loads(got["imageManifest"])
    return RemoteImage(
        digest=got["imageId"]["imageDigest"],
        media_type=got.get("imageManifestMediaType") or manifest.get("mediaType", "unknown"),
        config_digest=(manifest.get("config") or {}).get("digest"),
    )


def registry_image(uri: str, cwd: Path, echo: Callable[[str], None]) -> RemoteImage | None:
    """What any other registry holds under ``uri``'s tag (``docker manifest inspect``), None when
    nothing. A registry that cannot be asked is taken as holding nothing (with a warning): the
    push then meets that registry's own tag rules."""
    host = uri.split("/", 1)[0].rsplit(":", 1)[0]
    insecure = ["--insecure"] if host == "localhost" or host.startswith("127.") else []  # plain HTTP, as dockerd allows
    result = subprocess.run(
        ["docker", "manifest", "inspect", "--verbose", *insecure, uri], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        if "no such manifest" not in message.lower():
            echo(f"Warning: could not ask the registry whether {uri} exists ({message[:200]}); pushing.")
        return None
    found = json.loads(result.stdout)
    if isinstance(found, list):  # an index: one entry a platform, the index's own digest not shown
        return RemoteImage(digest="an image index", media_type="an image index", config_digest=None)
    manifest = found.get("SchemaV2Manifest") or found.get("OCIManifest") or {}
    return RemoteImage(
        digest=found["Descriptor"]["digest"],
        media_type=found["Descriptor"]["mediaType"],
        config_digest=(manifest.get("config") or {}).get("digest"),
    )


def has_buildx(cwd: Path) -> bool:
    """Whether ``docker buildx`` (BuildKit) is installed; without it ``docker build`` is the classic builder."""
    try:
        return subprocess.run(["docker", "buildx", "version"], cwd=cwd, capture_output=True).returncode == 0
    except OSError:
        return False


def _build_options(image: ImageConfig, tags: list[str], commit: str) -> list[str]:
    options = ["--platform", image.platform, "--file", image.dockerfile]
    for tag in tags:
        options += ["--tag", tag]
    return [*options, "--label", f"org.opencontainers.image.revision={commit}"]


def _buildx(image: ImageConfig, tags: list[str], commit: str, *, push: bool, metadata: str | None = None) -> list[str]:
    """``docker buildx build`` making a Docker v2 schema 2 manifest, no attestations: BuildKit adds
    provenance (an OCI index) by default and the containerd image store OCI media types, both of
    which SageMaker's CreateModel refuses ("Unsupported manifest media type")."""
    return [
        "buildx", "build", *_build_options(image, tags, commit), "--provenance=false", "--sbom=false",
        "--output", f"type=image,oci-mediatypes=false,push={str(push).lower()}",
        *(["--metadata-file", metadata] if metadata else []), *image.build_options, image.context,
    ]


def _local_ids(uri: str, cwd: Path) -> tuple[str | None, set[str]]:
    """The local image's ID, and it with the image's digests in ``uri``'s repository (known once
    pushed from here); (None, set()) when the engine does not have ``uri``."""
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .}}", uri], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        return None, set()
    info = json.loads(result.stdout)
    repository = uri.rsplit(":", 1)[0]
    return info["Id"], {info["Id"]} | {
        digest.split("@", 1)[1] for digest in info.get("RepoDigests") or [] if digest.split("@", 1)[0] == repository
    }


def build(image: ImageConfig, uri: str, commit: str, project_path: Path, buildx: bool) -> tuple[str, set[str]]:
    """Build ``uri``; return the image's ID and every digest that names it."""
    docker = _docker(project_path)
    if not buildx:
        docker("build", *_build_options(image, [uri], commit), *image.build_options, image.context)
        image_id, ids = _local_ids(uri, project_path)
        return image_id or "unknown", ids
    with tempfile.TemporaryDirectory() as folder:
        metadata_file = Path(folder) / "metadata.json"
        docker(*_buildx(image, [uri], commit, push=False, metadata=str(metadata_file)))
        metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
    image_id, ids = _local_ids(uri, project_path)  # in the engine with the docker driver, not with others
    ids |= {metadata[key] for key in ("containerimage.config.digest", "containerimage.digest") if metadata.get(key)}
    return image_id or metadata.get("containerimage.config.digest") or "unknown", ids


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

    A tag that holds this very image already is not pushed again (the push is still recorded);
    a tag that holds another image is refused (``PushRefused``), and so is a commit tag while
    untracked files under ``src/`` or ``conf/`` would go into the image.
    """
    if not image.tag and not commit.endswith("-dirty"):
        untracked = untracked_inputs(project_path)
        if untracked:
            shown = ", ".join(untracked[:5]) + (f" and {len(untracked) - 5} more" if len(untracked) > 5 else "")
            raise PushRefused(
                f"untracked files would go into the image but not into its tag {commit}: {shown}. "
                "Commit them (git add), delete them or git-ignore them, or set image.tag."
            )
    docker = _docker(project_path)
    registry = image.registry
    ecr = None
    if image.use_ecr:
        ecr = session.client("ecr")
        repository_uri = ensure_repository(ecr, image)
        registry = registry or repository_uri.split("/", 1)[0]
        ecr_login(ecr, image, registry, docker)
    if not registry:
        raise ValueError("image.registry: required when image.use_ecr is false")
    tag = image_tag(image, commit, now or datetime.now(UTC))
    uri = f"{registry}/{image.repository}:{tag}"
    moving = f"{registry}/{image.repository}:{image.moving_tag}" if image.moving_tag else None

    def remote() -> RemoteImage | None:
        return ecr_image(ecr, image, tag) if ecr is not None else registry_image(uri, project_path, echo)

    buildx = has_buildx(project_path)
    echo(f"Building {uri} for {image.platform}" + (" with buildx" if buildx else ""))
    local_id, local_ids = build(image, uri, commit, project_path, buildx)
    existing = remote()
    if existing is not None and not existing.is_one_of(local_ids):
        config = f" (config {existing.config_digest})" if existing.config_digest else ""
        raise PushRefused(
            f"{uri} already holds another image: {existing.digest}{config} there, {local_id} built here. "
            "A tag names one image (ECR's immutable tags refuse a second): commit your "
            "change, which gives a new commit tag, or set image.tag to a new tag."
        )
    if existing is not None:
        echo(f"{uri} is already pushed: the registry holds this very image ({existing.digest}); not pushed again.")
        pushed = [moving] if moving else []
    else:
        pushed = [uri, *([moving] if moving else [])]
    if pushed and buildx:
        docker(*_buildx(image, pushed, commit, push=True))
    else:
        for name in pushed:
            if name != uri:
                docker("tag", uri, name)
            docker("push", name)
    landed = existing
    if existing is None:
        landed = remote()
        if landed is not None and landed.media_type != DOCKER_V2_MANIFEST:
            raise PushRefused(
                f"{uri} was pushed as {landed.media_type}, not a Docker v2 schema 2 manifest ({DOCKER_V2_MANIFEST}): "
                "SageMaker's CreateModel refuses it. Build with the classic builder or buildx's --provenance=false "
                "and oci-mediatypes=false (push-image does), then push under a new tag."
            )
    # The digest jobs record in their models' lineage (a registry that could not be asked gives none).
    digest = landed.digest if landed is not None and landed.digest.startswith("sha256:") else None
    record_push(project_path, commit, uri, digest)
    echo(uri)
    return uri


def _docker(cwd: Path) -> Callable[..., subprocess.CompletedProcess]:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], cwd=cwd, input=stdin, text=True, check=True)

    return run
