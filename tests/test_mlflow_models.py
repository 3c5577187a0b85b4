"""The MLflow model directory: written with a computed skops trust list, read back only when safe."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import Version
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ml_on_aws.core.mlflow_models import (
    ModelDirectoryError,
    UntrustedModelError,
    find_model_directory,
    load_package,
    load_sklearn_model,
    skops_trusted_types,
)
from ml_on_aws.core.predictions import predict_frame
from ml_on_aws.datasets import MlflowModelDirectoryDataset, VersionedModelDataset

from .model_factory import package_small, train_small


class Shout(TransformerMixin, BaseEstimator):
    """A transformer from a package that is not trusted (this test module)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_trusted_types_are_computed_from_the_model_and_limited_to_trusted_packages():
    model, *_ = train_small(max_iter=5)
    types = skops_trusted_types(model)
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in types
    assert "ml_on_aws.pipelines.feature_engineering.transformers.ColumnTypes" in types
    assert all(t.split(".")[0] in {"sklearn", "numpy", "scipy", "ml_on_aws"} for t in types)


def test_a_model_with_an_untrusted_class_is_refused_when_packaged():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = Pipeline([("shout", Shout()), ("model", LogisticRegression())]).fit(X, [0, 1, 0, 1])
    with pytest.raises(UntrustedModelError, match="tests.test_mlflow_models.Shout"):
        skops_trusted_types(model)


def test_loading_checks_the_model_file_not_the_list_stored_beside_it(tmp_path):
    import mlflow.sklearn

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = Pipeline([("shout", Shout()), ("model", LogisticRegression())]).fit(X, [0, 1, 0, 1])
    # A directory whose MLmodel trusts the foreign class, as a tampered or foreign model would.
    mlflow.sklearn.save_model(model, str(tmp_path / "m"), serialization_format="skops",
                              skops_trusted_types=["tests.test_mlflow_models.Shout"])
    with pytest.raises(UntrustedModelError, match="Shout"):
        load_sklearn_model(tmp_path / "m")


def test_directory_round_trip_keeps_predictions_signature_and_example(tmp_path):
    model, params, train, test = train_small(max_iter=10)
    package, status = package_small(model, params, train, test)
    dataset = MlflowModelDirectoryDataset(filepath=str(tmp_path / "mlflow_model"))
    dataset.save(package)
    loaded = load_package(tmp_path / "mlflow_model")
    rows = test.drop(columns=["Status"]).head(50)
    pd.testing.assert_frame_equal(predict_frame(loaded.model, rows), predict_frame(model, rows))
    assert loaded.signature.inputs.input_names() == list(train.drop(columns=["Status"]).columns)
    assert all(not spec.required for spec in loaded.signature.inputs.inputs)
    assert len(loaded.input_example) == params["registry"]["input_example_rows"]
    assert loaded.metadata["quality_gate"]["accepted"] == status["accepted"]
    # Saving again publishes a new folder by swapping the symlink; the previous one is kept.
    first = (tmp_path / "mlflow_model").resolve()
    dataset.save(package)
    second = (tmp_path / "mlflow_model").resolve()
    assert second != first and (tmp_path / "mlflow_model").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name, "mlflow_model"])
    assert find_model_directory(tmp_path / "mlflow_model") == second
    dataset.save(package)
    assert first.name not in [p.name for p in tmp_path.iterdir()]  # older than the previous: removed


def test_model_directory_may_sit_one_folder_down_as_sagemaker_unpacks_it(tmp_path):
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "MLmodel").write_text("flavors: {}\n")
    assert find_model_directory(tmp_path) == tmp_path / "inner"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelDirectoryError, match="no MLmodel file"):
        find_model_directory(tmp_path / "empty")
    with pytest.raises(ModelDirectoryError, match="does not exist"):
        find_model_directory(tmp_path / "missing")
    (tmp_path / "with_copy" / ".incoming").mkdir(parents=True)  # a copy being made is not a model
    (tmp_path / "with_copy" / ".incoming" / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(ModelDirectoryError, match="no MLmodel file"):
        find_model_directory(tmp_path / "with_copy")


def _versioned(filepath: str, save_version: str | None = None, **kwargs) -> VersionedModelDataset:
    return VersionedModelDataset(filepath=filepath, version=Version(None, save_version), **kwargs)


def test_the_versioned_model_is_an_mlflow_directory_with_skops_and_no_pickle(tmp_path):
    model, _, _, test = train_small(max_iter=10)
    _versioned(str(tmp_path / "model"), "2026-01-01T00.00.00.000Z").save(model)
    folder = tmp_path / "model" / "2026-01-01T00.00.00.000Z" / "model"
    assert (folder / "MLmodel").is_file() and (folder / "model.skops").is_file()
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    rows = test.drop(columns=["Status"]).head(50)
    pd.testing.assert_frame_equal(predict_frame(_versioned(str(tmp_path / "model")).load(), rows),
                                  predict_frame(model, rows))


def test_the_versioned_model_on_s3_loads_the_newest_version(moto_endpoint, monkeypatch):
    from tests.aws.conftest import FAKE_CREDENTIALS, list_keys, s3_client

    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    s3_client(moto_endpoint).create_bucket(Bucket="models")
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    older, newer = LogisticRegression().fit(X, [0, 0, 1, 1]), LogisticRegression().fit(X, [1, 1, 0, 0])
    for version, model in (("2026-01-01T00.00.00.000Z", older), ("2026-01-02T00.00.00.000Z", newer)):
        _versioned("s3://models/team/06_models/model", version).save(model)
    assert "team/06_models/model/2026-01-02T00.00.00.000Z/model/model.skops" in list_keys(moto_endpoint, "models")
    loaded = _versioned("s3://models/team/06_models/model").load()
    assert loaded.predict(X).tolist() == newer.predict(X).tolist() != older.predict(X).tolist()
