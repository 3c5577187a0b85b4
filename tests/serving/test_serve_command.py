"""`kedro serve` on the model directory of the latest run: never a rejected model by accident."""

from __future__ import annotations

import shutil

import click
import pytest
import yaml

from ml_on_aws.cli import _refuse_rejected_model

from ..conftest import run_kedro


def _with_gate(model_dir, destination, accepted: bool):
    shutil.copytree(model_dir, destination)
    mlmodel = destination / "MLmodel"
    spec = yaml.safe_load(mlmodel.read_text())
    spec.setdefault("metadata", {})["quality_gate"] = {"accepted": accepted, "reason": "test roc_auc 0.61 is below 0.75"}
    mlmodel.write_text(yaml.safe_dump(spec))
    return destination


def test_a_rejected_model_is_refused_with_the_way_to_the_champion(project, model_dir):
    rejected = _with_gate(model_dir, project / "rejected_model", accepted=False)
    result = run_kedro(project, "serve", "--model-dir", str(rejected), "--port", "1")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "did not pass the quality gate (test roc_auc 0.61 is below 0.75)" in output
    assert "--model-uri models:/<registered name>@champion" in output and "--allow-rejected" in output


def test_an_accepted_model_passes(tmp_path, model_dir):
    _refuse_rejected_model(_with_gate(model_dir, tmp_path / "accepted", accepted=True))
    with pytest.raises(click.ClickException):
        _refuse_rejected_model(_with_gate(model_dir, tmp_path / "rejected", accepted=False))
