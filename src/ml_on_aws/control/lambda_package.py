"""The Lambda deployment package: a zip with the handlers and only what they import.

Contents:

- the handler modules and every project module they import, found by reading the imports
  (:func:`project_modules`; the SageMaker request builders and configuration schema among them),
  so a job started by Lambda is the same request as one started by ``kedro sagemaker``;
- ``sagemaker_config.json``: ``conf/<env>/sagemaker.yml`` resolved and validated at build time
  with the stack's bucket, prefix and role (the Lambda runtime has no Kedro and no conf/);
- pydantic and its dependencies (:data:`VENDORED`), vendored: the configuration schema is
  pydantic, and validating the packaged configuration at cold start with the same schema is
  what keeps a stale or hand-edited package from starting wrong jobs. boto3 is not packaged:
  the Lambda runtime provides it.

pydantic-core is compiled, so its files must be built for Lambda (CPython 3.11, manylinux,
x86_64). When this environment's wheels fit (a Linux x86_64 machine, as CI and the container
are) they are copied from it, offline and at the versions uv.lock pins; otherwise uv installs
them for Lambda's platform (``uv pip install --python-platform``; needs the package index).

The zip is reproducible (sorted entries, fixed timestamps): the same code and configuration
give the same bytes, so CloudFormation sees no change and does not update the functions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from ml_on_aws.control.imports import SOURCE_ROOT, module_closure
from ml_on_aws.lambda_runtime.jobs import CONFIG_FILE_NAME
from ml_on_aws.sagemaker import config as sagemaker_config

# The modules the stack's functions name as Handler (infra/stack.yml; a test checks every one is here).
HANDLER_MODULES = ("ml_on_aws.lambda_runtime.handlers", "ml_on_aws.lambda_runtime.monitoring")
# Distributions the handler's modules import that the Lambda runtime lacks (ml_on_aws.core.config
# imports yaml).
VENDORED = ("pydantic", "pydantic-core", "annotated-types", "typing-extensions", "typing-inspection", "pyyaml")
LAMBDA_PYTHON = "3.11"
LAMBDA_ARCHITECTURE = "x86_64"
# Lambda's Python 3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux up to 2_26 loads there.
LAMBDA_GLIBC = (2, 26)
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The package cannot be built as asked; the message says what to do."""


# ---------------------------------------------------------------- configuration


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def resolved_config(project_path: Path, env: str, variables: Mapping[str, str]) -> dict[str, Any]:
    """``sagemaker.yml`` of ``env`` resolved with ``variables`` set (e.g. the stack's bucket and
    role as ML_ON_AWS_BUCKET and ML_ON_AWS_SAGEMAKER_ROLE_ARN), validated, as plain JSON data."""
    with _environment(variables):
        raw = sagemaker_config.read(project_path, env)
    return sagemaker_config.parse_config(raw, source=f"conf/{{base,{env}}}/sagemaker.yml").model_dump(mode="json")


# ---------------------------------------------------------------- vendored libraries


def _wheel_tags(distribution: metadata.Distribution) -> list[str]:
    wheel = distribution.read_text("WHEEL") or ""
    return [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]


def fits_lambda(tag: str) -> bool:
    """Whether a wheel tag (``py3-none-any``, ``cp311-cp311-manylinux_2_17_x86_64``) runs on Lambda."""
    python, abi, platform = tag.split("-")
    if platform == "any":
        return True
    if python != "cp" + LAMBDA_PYTHON.replace(".", "") or not platform.endswith(LAMBDA_ARCHITECTURE):
        return False
    if platform.startswith("manylinux2014"):
        return True
    if platform.startswith("manylinux_"):
        major, minor = platform.split("_")[1:3]
        return (int(major), int(minor)) <= LAMBDA_GLIBC
    return False


def copy_installed(target: Path, names: tuple[str, ...] = VENDORED) -> None:
    """Copy the installed files of ``names`` into ``target``; PackageError when a wheel does not
    fit Lambda's platform (then :func:`install_for_lambda` is the way)."""
    for name in names:
        distribution = metadata.distribution(name)
        tags = _wheel_tags(distribution)
        if tags and not any(fits_lambda(tag) for tag in tags):
            raise PackageError(f"{name} {distribution.version} is installed for {', '.join(tags)}, not for Lambda")
        for file in distribution.files or []:
            if file.parts[0].endswith((".dist-info", "__pycache__")) or ".." in file.parts or file.suffix == ".pyc":
                continue
            source = Path(distribution.locate_file(file))
            if source.is_file():
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / file)


def install_for_lambda(target: Path, names: tuple[str, ...] = VENDORED) -> None:
    """Install ``names`` at this environment's versions as built for Lambda, with uv."""
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    pins = [f"{name}=={metadata.version(name)}" for name in names]
    command = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(target),
               "--python-version", LAMBDA_PYTHON, "--python-platform", f"{LAMBDA_ARCHITECTURE}-manylinux2014",
               "--only-binary", ":all:", *pins]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise PackageError(f"Installing {', '.join(pins)} for Lambda failed:\n{result.stderr.strip()}")


# ---------------------------------------------------------------- the zip


def project_modules() -> list[str]:
    """The project's files in the package: the handler modules and what they import, transitively."""
    files = {path for module in HANDLER_MODULES for path in module_closure(module)}
    return [path.relative_to(SOURCE_ROOT).as_posix() for path in sorted(files)]


def package_bytes(config: Mapping[str, Any], vendor: str = "auto") -> bytes:
    """The zip: project modules, ``sagemaker_config.json`` and the vendored libraries.

    ``vendor``: ``copy`` (this environment's files), ``install`` (uv, for Lambda's platform) or
    ``auto`` (copy when they fit Lambda, else install).
    """
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if vendor == "install":
            install_for_lambda(root)
        else:
            try:
                copy_installed(root)
            except PackageError:
                if vendor == "copy":
                    raise
                install_for_lambda(root)
        for module in project_modules():
            (root / module).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SOURCE_ROOT / module, root / module)
        (root / CONFIG_FILE_NAME).write_text(json.dumps(config, indent=2, sort_keys=True))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_FIXED_TIME)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
        return buffer.getvalue()


def package_key(prefix: str, package: bytes) -> str:
    """Where the package goes in the bucket: named by its content, so a change is a new key."""
    return f"{prefix.strip('/')}/lambda/ml-on-aws-{hashlib.sha256(package).hexdigest()[:16]}.zip"
