"""The instance name that per-instance output files carry (``${sagemaker_host:}``)."""

from __future__ import annotations

import json

from ml_on_aws.sagemaker.hosts import current_host


def test_the_host_comes_from_the_processing_or_training_resource_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_OPT_ML", str(tmp_path))
    assert current_host() == "algo-1"  # outside a job: one instance
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-3"}))
    assert current_host() == "algo-3"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-2"}))
    assert current_host() == "algo-2"
