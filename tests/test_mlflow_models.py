"""The MLflow model directory: written with a computed skops trust list, read back only when safe."""

from __future__ import annotations

import pandas as pd
import pytest
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
from ml_on_aws.datasets import MlflowModelDirectoryDataset

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
    # Saving again replaces the folder whole.
    dataset.save(package)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow_model"]


def test_model_directory_may_sit_one_folder_down_as_sagemaker_unpacks_it(tmp_path):
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "MLmodel").write_text("flavors: {}\n")
    assert find_model_directory(tmp_path) == tmp_path / "inner"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelDirectoryError, match="no MLmodel file"):
        find_model_directory(tmp_path / "empty")
    with pytest.raises(ModelDirectoryError, match="does not exist"):
        find_model_directory(tmp_path / "missing")
