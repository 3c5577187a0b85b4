"""The compiled prediction path gives scikit-learn's answers, or the model is saved without it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sklearn.cluster import DBSCAN, KMeans
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import DataConfig
from ml_on_aws.core.mlflow_models import COMPILED_FILE
from ml_on_aws.core.predictions import predict_frame
from ml_on_aws.pipelines.feature_engineering.compiled import (
    compile_and_verify,
    compile_model,
    difference,
    load_compiled,
)
from ml_on_aws.pipelines.feature_engineering.nodes import (
    build_feature_pipeline,
    drop_rows_without_target,
    split_data,
)
from ml_on_aws.pipelines.shared import features_and_target
from ml_on_aws.pipelines.training.estimators import InductiveClusterer

from .conftest import PROJECT_ROOT

RAW = {"base": "credit_data.csv", "ames_regression": "ames.csv", "penguins_multiclass": "penguins.csv",
       "seattle_weather_dates": "seattle_weather.csv", "credit_clustering": "credit_data.csv"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from .model_factory import write_model_dir

    return write_model_dir(tmp_path_factory.mktemp("model") / "mlflow_model")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def fit(env: str, estimator: Any, rows: int | None = None) -> tuple[Pipeline, pd.DataFrame]:
    """The project's feature steps for an example environment and ``estimator``, fitted on its
    training split; and the features of its test split."""
    params = yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "parameters.yml").read_text())
    if env != "base":
        params = _merge(params, yaml.safe_load((PROJECT_ROOT / "conf" / env / "parameters.yml").read_text()))
    raw = pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / RAW[env], nrows=rows)
    train, test = split_data(drop_rows_without_target(raw, params["data"]), params["data"], params["split"])
    data = DataConfig.model_validate(params["data"])
    X, y = features_and_target(train, data)
    model = Pipeline([*build_feature_pipeline(train, params["data"], params["features"]).steps, ("model", estimator)])
    model.fit(X, y)
    return model, features_and_target(test, data)[0]


@pytest.mark.parametrize(
    ("env", "estimator"),
    [
        ("base", HistGradientBoostingClassifier(max_iter=20, random_state=0)),
        ("base", LogisticRegression(max_iter=300)),
        ("ames_regression", HistGradientBoostingRegressor(max_iter=20, random_state=0)),
        ("penguins_multiclass", RandomForestClassifier(n_estimators=10, random_state=0)),
        ("seattle_weather_dates", Ridge()),  # a date column and its date_parts
        ("credit_clustering", KMeans(n_clusters=3, n_init=1, random_state=0)),
        ("credit_clustering", InductiveClusterer(DBSCAN(eps=2.5, min_samples=10))),
    ],
    ids=["credit-hgb", "credit-logistic", "ames-regression", "penguins-multiclass", "seattle-dates",
         "clustering-kmeans", "clustering-dbscan"],
)
def test_compiled_answers_are_scikit_learns_on_the_bundled_tasks(env, estimator):
    model, test = fit(env, estimator, rows=1500 if env == "credit_clustering" else None)
    spec, outcome = compile_and_verify(model, test)
    assert spec is not None, outcome
    assert f"all {len(test)} test rows" in outcome
    compiled = compile_model(model)
    pd.testing.assert_frame_equal(compiled.predict_frame(test), predict_frame(model, test), check_exact=True)
    # Rows with missing values and an unseen category take the same way as in scikit-learn.
    odd = test.head(20).copy()
    odd.iloc[::2, 0] = None
    text = [c for c in odd.columns if odd[c].dtype == object or pd.api.types.is_string_dtype(odd[c])]
    if text:
        odd[text[0]] = odd[text[0]].astype(object)
        odd.iloc[1::3, odd.columns.get_loc(text[0])] = "a category never seen"
    assert difference(model, compiled, odd) is None


def test_a_model_that_cannot_be_compiled_is_saved_without_it_and_served_by_scikit_learn(tmp_path, caplog):
    from ml_on_aws.container.serving.model import load_served_model
    from ml_on_aws.datasets import MlflowModelDirectoryDataset
    from ml_on_aws.pipelines.registry.nodes import package_model

    from .model_factory import base_parameters

    params = base_parameters()
    model, test = fit("base", HistGradientBoostingClassifier(max_iter=10, random_state=0))
    model.set_params(preprocess__verbose_feature_names_out=True)
    model[:-1].set_output(transform="pandas")  # the estimator now learns named columns: not compilable
    train = pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "credit_data.csv").dropna(subset=["Status"])
    model.fit(train.drop(columns=["Status"]), train["Status"])
    test_table = test.assign(Status="good")
    with caplog.at_level("WARNING"):
        package = package_model(model, train, {"test": {}}, {"accepted": True}, params["data"], params["registry"], test_table)
    assert package.compiled is None
    lines = [r.getMessage() for r in caplog.records if "Compiled prediction path" in r.getMessage()]
    assert len(lines) == 1 and "cannot be compiled" in lines[0] and "named columns" in lines[0], lines
    MlflowModelDirectoryDataset(filepath=str(tmp_path / "model")).save(package)
    assert not list((tmp_path / "model").rglob(COMPILED_FILE))
    served = load_served_model(tmp_path / "model")
    assert served.compiled is None
    pd.testing.assert_frame_equal(served.predict(test.head(30)), predict_frame(model, test.head(30)))


def test_a_compiled_path_that_gives_other_answers_is_not_saved(monkeypatch):
    import ml_on_aws.pipelines.feature_engineering.compiled as compiled_module

    model, test = fit("base", LogisticRegression(max_iter=300))
    real = compiled_module.compile_model

    def off_by_a_little(fitted):
        compiled = real(fitted)
        compiled.spec["blocks"][0]["steps"][1]["offset"][0] += 1e-3  # a scaler's mean, slightly off
        return compiled

    monkeypatch.setattr(compiled_module, "compile_model", off_by_a_little)
    spec, outcome = compile_and_verify(model, test)
    assert spec is None and "differ from scikit-learn's" in outcome and "proba_" in outcome


def test_the_model_directory_carries_the_compiled_file_and_stays_a_plain_sklearn_model(model_dir):
    import mlflow.pyfunc
    from mlflow.models import Model

    from ml_on_aws.container.serving.model import load_served_model

    flavor = Model.load(str(model_dir)).flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert [Path(entry["path"]).name for entry in flavor["extra_files"]] == [COMPILED_FILE]
    served = load_served_model(model_dir)
    assert served.compiled is not None
    rows = pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "credit_data_new.csv").head(50)
    rows = rows.astype({c: "float64" for c in rows.select_dtypes("integer").columns})
    expected = predict_frame(served.model, rows)
    pd.testing.assert_frame_equal(served.predict(rows), expected, check_exact=True)
    pyfunc = mlflow.pyfunc.load_model(str(model_dir))  # MLflow's own loader ignores the extra file
    assert list(pyfunc.predict(rows)) == list(served.model.predict(rows))


def test_a_compiled_file_that_does_not_match_the_model_is_not_used(model_dir, tmp_path):
    import shutil

    from ml_on_aws.core.mlflow_models import load_package

    copy_dir = tmp_path / "model"
    shutil.copytree(model_dir, copy_dir)
    compiled_file = next(copy_dir.rglob(COMPILED_FILE))
    spec = json.loads(compiled_file.read_text())
    spec["blocks"][0]["steps"][0]["fill"] = [v + 1000 for v in spec["blocks"][0]["steps"][0]["fill"]]
    spec["blocks"][0]["steps"][1]["offset"] = [v + 1 for v in spec["blocks"][0]["steps"][1]["offset"]]
    compiled_file.write_text(json.dumps(spec))
    package = load_package(copy_dir)
    compiled, why = load_compiled(copy_dir, package.model, package.input_example)
    assert compiled is None and "input example" in why


def test_batch_scoring_takes_the_compiled_path_with_the_same_answers(caplog):
    from ml_on_aws.pipelines.inference.nodes import score_new_data

    model, test = fit("base", HistGradientBoostingClassifier(max_iter=10, random_state=0))
    with caplog.at_level("INFO"):
        compiled = score_new_data(model, test, {"chunk_rows": 300, "compiled": True})
    assert "Scoring with the compiled prediction path" in caplog.text
    plain = score_new_data(model, test, {"chunk_rows": 300, "compiled": False})
    pd.testing.assert_frame_equal(compiled, plain, check_exact=True)
    assert len(compiled) == len(test)


def test_a_registered_version_carries_the_compiled_path_of_the_directory_it_was_loaded_from(model_dir, tmp_path, monkeypatch):
    import mlflow

    from ml_on_aws.core.mlflow_models import (
        ModelRelease,
        download_model,
        load_package,
        read_compiled_spec,
    )
    from ml_on_aws.datasets import RegisteredModelDataset

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)  # artifacts go to ./mlartifacts
    package = load_package(model_dir)
    assert package.compiled == read_compiled_spec(model_dir)
    with mlflow.start_run():
        RegisteredModelDataset(model_name="compiled_check").save(ModelRelease(package=package, promote=False, decision={}))
    registered = download_model("models:/compiled_check/1", tmp_path / "download")
    assert read_compiled_spec(registered) == read_compiled_spec(model_dir)
