"""The packages of src/ml_on_aws import only downward (docs/architecture.md): read with `ast`, every
import of every module, including those inside functions, so a lazy import cannot hide a cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_on_aws.control.imports import PACKAGE, SOURCE_ROOT, imports_of, module_name

# Bottom to top: a unit may import its own modules and those of lower layers, never a unit of its own
# layer or above. Units are the top-level packages and modules of ml_on_aws.
LAYERS = (
    {"core"},  # configuration schema, model format, predictions, archives, git commit
    {"pipelines", "datasets", "aws", "sagemaker"},  # ML core; AWS access; the SageMaker job contract
    {"hooks"},  # Kedro integration: one hook per concern
    {"settings", "pipeline_registry"},  # where Kedro looks for them
    {"container", "lambda_runtime"},  # what runs in the image; what runs in the Lambda
    {"control"},  # drives AWS from a laptop or CI, builds the Lambda package
    {"cli_errors"},
    {"cli", "__main__"},
)
# The ML core runs without AWS: it may not import AWS clients, even lazily.
AWS_FREE = {"core", "pipelines", "datasets"}
AWS_LIBRARIES = {"boto3", "botocore", "s3fs", "aiobotocore", "sagemaker"}


def unit_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def layer_of(unit: str) -> int:
    [layer] = [i for i, units in enumerate(LAYERS) if unit in units]
    return layer


MODULES = {module_name(path): path for path in sorted((SOURCE_ROOT / PACKAGE).rglob("*.py"))}


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(name) for name in MODULES} - {"__init__"}
    assert units <= set().union(*LAYERS), f"give {sorted(units - set().union(*LAYERS))} a layer in LAYERS"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_only(module: str) -> None:
    unit = unit_of(module)
    if unit == "__init__":
        return
    upward = []
    for name in imports_of(MODULES[module]):
        if name.split(".")[0] in AWS_LIBRARIES and unit in AWS_FREE:
            upward.append(f"{name} (AWS library in the ML core)")
        if not name.startswith(PACKAGE + ".") or name.count(".") == 0:
            continue
        target = unit_of(name)
        if target != unit and layer_of(target) >= layer_of(unit):
            upward.append(f"{name} ({target} is not below {unit})")
    assert not upward, f"{module} imports " + ", ".join(upward)


def test_the_graph_of_units_has_no_cycle() -> None:
    """Implied by the layers, checked on its own so a change to LAYERS cannot hide one."""
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        for name in imports_of(path):
            if name.startswith(PACKAGE + ".") and unit_of(name) != unit_of(module):
                edges.setdefault(unit_of(module), set()).add(unit_of(name))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in edges.get(start, ()))

    assert not [unit for unit in edges if reaches(unit, unit, {unit})]


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from ml_on_aws.control import launcher\n    from . import config\n")
    assert imports_of(source, "ml_on_aws.core.probe") == ["ml_on_aws.control.launcher", "ml_on_aws.core.config"]


STAGE_MODULES = ("nodes", "pipeline")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(f"{PACKAGE}.pipelines.")))
def test_a_stage_takes_what_it_shares_from_pipelines_shared_not_from_another_stages_nodes(module):
    own = module.split(".")[2]
    borrowed = [
        name for name in imports_of(MODULES[module])
        if name.startswith(f"{PACKAGE}.pipelines.") and name.count(".") >= 3
        and name.split(".")[2] != own and name.split(".")[3] in STAGE_MODULES
    ]
    assert not borrowed, f"{module} imports another stage's nodes or wiring: {', '.join(borrowed)}"

