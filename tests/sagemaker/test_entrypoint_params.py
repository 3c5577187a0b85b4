"""``process PIPELINE --params k=v,...``: runtime parameters reach the processing job's run, parsed
as ``kedro run --params`` parses them (the scheduled monitoring job passes its window this way)."""

from __future__ import annotations

import click
import pytest
from kedro.framework.cli.utils import _split_params

from ml_on_aws.container import contract, entrypoint, kedro_project
from ml_on_aws.container.runtime_params import runtime_params
from ml_on_aws.core.config import ConfigurationError
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("value", [
    "monitoring.window.end=2026-12-01T02:00:00Z,monitoring.window.hours=24",
    "monitoring.window.end=null, monitoring.window.hours=6",
    "a=x=y,b.c=1e3,d=true,e=0.5,f=",
])
def test_params_are_typed_as_kedro_run_types_them(value: str) -> None:
    # Kedro's parser is private (a click callback): this keeps the container's in step with it.
    class Option:
        name = "params"

    assert runtime_params([value]) == _split_params(click.Context(click.Command("run")), Option(), value)


def test_later_params_win_and_nested_keys_merge() -> None:
    assert runtime_params(["monitoring.window.hours=24,monitoring.window.end=null",
                           "monitoring.window.end=2026-12-01T02:00:00Z"]) == {
        "monitoring": {"window": {"hours": 24, "end": "2026-12-01T02:00:00Z"}}}
    assert runtime_params(None) == {} and runtime_params([" , "]) == {}


@pytest.mark.parametrize("item", ["hours", "=24"])
def test_an_item_without_a_key_is_named(item: str) -> None:
    with pytest.raises(ConfigurationError, match=f"--params item '{item}' is not key=value"):
        runtime_params([f"a=1,{item}"])


@pytest.fixture
def run_parameters(tmp_path, monkeypatch) -> dict:
    """What the run's context sees as parameters; the pipeline itself does not run."""
    from kedro.framework.session import KedroSession

    seen: dict = {}

    def run(self, **kwargs):
        seen["parameters"] = self.load_context().params
        seen["run"] = kwargs

    monkeypatch.setattr(KedroSession, "run", run)
    monkeypatch.setattr(kedro_project.KedroProject, "check_inputs", lambda *args: None)
    monkeypatch.setenv(contract.OPT_ML_ENV, str(tmp_path / "opt_ml"))
    monkeypatch.setenv(kedro_project.PROJECT_DIR_ENV, str(PROJECT_ROOT))
    return seen


def test_process_runs_the_pipeline_with_the_runtime_params(run_parameters: dict) -> None:
    code = entrypoint.main(["process", "inference", "--params", "split.test_size=0.3,extra.window.hours=6"])

    assert code == 0
    assert run_parameters["run"] == {"pipeline_names": ["inference"]}
    parameters = run_parameters["parameters"]
    assert parameters["split"]["test_size"] == 0.3
    assert parameters["split"]["random_state"] == 42  # the rest of conf/base/parameters.yml stays
    assert parameters["extra"] == {"window": {"hours": 6}}


def test_bad_params_fail_the_job_with_the_reason(run_parameters: dict, tmp_path) -> None:
    code = entrypoint.main(["process", "inference", "--params", "split.test_size"])

    assert code == 1 and "run" not in run_parameters
    message = (tmp_path / "opt_ml" / "output" / "message").read_text()
    assert message.startswith("Processing pipeline 'inference' failed: --params item 'split.test_size' is not key=value")
