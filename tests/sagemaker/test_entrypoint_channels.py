"""The training job's optional channels, `test` and `reference`, run through the entry point as
SageMaker starts it (see test_entrypoint_contract.py for the folder layout and the helpers)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from ml_on_aws.container.contract import METRIC_REGEX

from .test_entrypoint_contract import RAW, failure, run_entrypoint, training_folder


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(RAW / "credit_data.csv")


def test_a_test_channel_is_the_test_set_and_all_of_train_trains(tmp_path, credit):
    train = credit.iloc[:1200]
    test = credit.iloc[1200:1500].copy()
    test.loc[test.index[:7], "Status"] = None  # cleaned like the training rows: dropped
    opt_ml = training_folder(tmp_path, channels={"train": [train.iloc[:700], train.iloc[700:]], "test": [test]})

    result = run_entrypoint(opt_ml, "train")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = opt_ml / "output" / "data"
    report = json.loads((output / "evaluation_report.json").read_text())
    assert report["rows"] == {"train": 1200, "test": int(test["Status"].notna().sum())}
    assert json.loads((output / "validation" / "test_data_validation.json").read_text())["passed"] is True
    from ml_on_aws.container.serving import load_model

    model = load_model(opt_ml / "model")
    assert len(model.predict(test.drop(columns=["Status"]).head(3))) == 3
    assert not (output / "drift").exists()


def test_a_reference_channel_adds_a_drift_report_and_its_metric_lines(tmp_path, credit):
    reference = credit.iloc[2000:3000].assign(Income=lambda t: t["Income"] * 3)  # the production model saw other incomes
    opt_ml = training_folder(tmp_path, channels={"train": [credit.iloc[:1200]]})
    folder = opt_ml / "input" / "data" / "reference"
    folder.mkdir(parents=True)
    reference.to_parquet(folder / "reference_data.parquet")
    config = opt_ml / "input" / "config" / "inputdataconfig.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "reference": {"TrainingInputMode": "File"}}))

    result = run_entrypoint(opt_ml, "train")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    drift = opt_ml / "output" / "data" / "drift"
    report = json.loads((drift / "drift_report.json").read_text())
    assert report["retrain"] == 1 and "Income" in report["drifted_columns"]
    assert (drift / "drift_summary.html").is_file()
    printed = {name: float(re.search(METRIC_REGEX.format(name=name), result.stdout).group(1))
               for name in ("drift_retrain_signal", "drift_share", "drift_drifted_columns", "drift_checked_columns")}
    assert printed["drift_retrain_signal"] == 1
    assert printed["drift_share"] == pytest.approx(len(report["drifted_columns"]) / report["checked_columns"], rel=1e-6)
    # The reference this job writes for the next model is its own training rows, not the input.
    written = pd.read_parquet(opt_ml / "output" / "data" / "reference_data.parquet")
    assert written["Income"].median() == pytest.approx(credit.iloc[:1200]["Income"].median(), rel=0.2)
    assert (opt_ml / "model" / "MLmodel").is_file()


def test_a_test_table_without_training_columns_fails_naming_them_and_the_file(tmp_path, credit):
    test = credit.iloc[1200:1500].drop(columns=["Income", "Age"])
    opt_ml = training_folder(tmp_path, channels={"train": [credit.iloc[:1200]], "test": [test]})

    result = run_entrypoint(opt_ml, "train")

    assert result.returncode == 1
    reason = failure(opt_ml)
    assert "['Age', 'Income']" in reason
    assert str(opt_ml / "input" / "data" / "test" / "part-0000.csv") in reason
    assert not (opt_ml / "model" / "MLmodel").exists()


@pytest.mark.parametrize(("channels", "expected"), [
    ({"train": [pd.DataFrame({"a": [1]})], "validation": [pd.DataFrame({"a": [1]})]},
     "unknown input channel 'validation' in inputdataconfig.json; this job reads: train, test, reference."),
    ({"train": [pd.DataFrame({"a": [1]})], "test": []}, "the 'test' channel is empty: no files in"),
])
def test_an_unknown_or_empty_channel_is_refused_before_anything_runs(tmp_path, channels, expected):
    opt_ml = training_folder(tmp_path, channels=channels)
    result = run_entrypoint(opt_ml, "train")
    assert result.returncode == 1
    assert expected in failure(opt_ml)
