"""The floor: the project's work on the credit data as one plain pandas + scikit-learn script.

Reads the same CSV, checks it and the new data against the same expectation suite
(``conf/base/expectations/raw_data.yml``) with plain pandas, drops unlabelled rows, makes
the same stratified split, builds the same preprocessing (derived features, median impute +
standard scale, constant impute + one-hot with the same frequency limits) and the same
estimator, runs the same randomized search (space, folds, iterations and seed read from
``conf/base/parameters.yml`` plus the same ``--params`` overrides the harness gives
``kedro run``), computes the same metrics, learning curve, permutation importance and
figures, writes the model with joblib and scores the new data in chunks. It knows the
credit data's task (binary classification) and nothing else: it is a benchmark, not a
second implementation of the project.

``--stage`` runs one stage in its own process, handing tables over as Parquet in
``--workdir`` as Kedro does, so each pipeline has a counterpart; ``all`` keeps everything in
memory, as a hand-written script would.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import yaml
from scipy import stats
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.model_selection import RandomizedSearchCV, learning_curve, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("data_validation", "feature_engineering", "training", "evaluation", "inference")
SUITE = ROOT / "conf/base/expectations/raw_data.yml"
DISTRIBUTIONS = {"uniform": lambda lo, hi: stats.uniform(lo, hi - lo), "loguniform": stats.loguniform,
                 "randint": stats.randint}


def load_parameters(overrides: str) -> dict:
    """conf/base/parameters.yml with Kedro-style ``a.b.c=value`` overrides applied."""
    params = yaml.safe_load((ROOT / "conf/base/parameters.yml").read_text())
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        *path, last = key.strip().split(".")
        node = params
        for part in path:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return params


def suite_rules(applies_to: str) -> list[tuple[str, dict]]:
    """(expectation type, kwargs) of the suite's entries for ``training`` or ``new_data``."""
    suite = yaml.safe_load(SUITE.read_text())
    return [(e["type"], e.get("kwargs") or {}) for e in suite["expectations"]
            if applies_to in e.get("applies_to", ["training", "new_data"])]


def pandas_check(frame: pd.DataFrame, rules: list[tuple[str, dict]]) -> list[bool]:
    """The suite's rules by hand with pandas: whether each one holds."""
    outcomes = []
    for kind, kw in rules:
        column = frame[kw["column"]] if kw.get("column") in frame.columns else None
        match kind:
            case "expect_table_row_count_to_be_between":
                ok = (kw.get("min_value") or 0) <= len(frame) <= (kw.get("max_value") or float("inf"))
            case "expect_table_columns_to_match_set":
                ok = set(frame.columns) == set(kw["column_set"])
            case "expect_column_to_exist":
                ok = column is not None
            case "expect_column_values_to_be_in_type_list":
                ok = column is not None and str(column.dtype) in kw["type_list"]
            case "expect_column_type_to_be":
                ok = column is not None and str(column.dtype) == kw["type_"]
            case "expect_column_values_to_not_be_null":
                ok = column is not None and column.notna().mean() >= kw.get("mostly", 1.0)
            case "expect_column_values_to_be_between":
                present = column.dropna() if column is not None else pd.Series(dtype=float)
                inside = present.between(kw.get("min_value", -np.inf), kw.get("max_value", np.inf))
                ok = column is not None and inside.mean() >= kw.get("mostly", 1.0) if len(present) else True
            case "expect_column_values_to_be_in_set":
                present = column.dropna() if column is not None else pd.Series(dtype=object)
                ok = column is not None and (present.isin(kw["value_set"]).mean() >= kw.get("mostly", 1.0) if len(present) else True)
            case other:
                raise ValueError(f"No pandas baseline for {other}")
        outcomes.append(bool(ok))
    return outcomes


def add_derived(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    X["loan_to_price"] = X["Amount"] / X["Price"].where(X["Price"] != 0)
    X["debt_to_assets"] = X["Debt"] / X["Assets"].where(X["Assets"] != 0)
    X["log_income"] = np.log1p(X["Income"].clip(lower=0))
    return X


def make_search(X: pd.DataFrame, params: dict) -> RandomizedSearchCV:
    features, training = params["features"], params["training"]
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    preprocess = ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                              ("scale", StandardScaler())]),
         [*numeric, "loan_to_price", "debt_to_assets", "log_income"]),
        ("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                      min_frequency=features["one_hot_min_frequency"],
                                      max_categories=features["one_hot_max_categories"])),
        ]), categorical),
    ])
    model = Pipeline([
        ("derive", FunctionTransformer(add_derived)),
        ("preprocess", preprocess),
        ("model", HistGradientBoostingClassifier(**training["estimator"]["kwargs"])),
    ])
    search = training["search"]
    space = {
        f"model__{name}": DISTRIBUTIONS[v["distribution"]](v["low"], v["high"]) if isinstance(v, dict) else v
        for name, v in search["space"].items()
    }
    return RandomizedSearchCV(model, space, n_iter=search["n_iter"], cv=search["cv"], scoring=search["scoring"],
                              n_jobs=search["n_jobs"], random_state=search["random_state"], refit=True)


def split(raw: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    target = params["data"]["target"]
    labelled = raw[raw[target].notna()]
    return train_test_split(labelled, test_size=params["split"]["test_size"],
                            random_state=params["split"]["random_state"], stratify=labelled[target])


def train(train_set: pd.DataFrame, params: dict) -> tuple[Pipeline, pd.DataFrame]:
    target = params["data"]["target"]
    search = make_search(train_set.drop(columns=[target]), params)
    search.fit(train_set.drop(columns=[target]), train_set[target])
    return search.best_estimator_, pd.DataFrame(search.cv_results_).drop(columns="params")


def scores(model: Pipeline, X: pd.DataFrame, y: pd.Series, positive: str) -> dict:
    predicted, proba = model.predict(X), model.predict_proba(X)
    classes = list(model.classes_)
    return {
        "accuracy": skm.accuracy_score(y, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(y, predicted),
        "precision": skm.precision_score(y, predicted, pos_label=positive, zero_division=0),
        "recall": skm.recall_score(y, predicted, pos_label=positive, zero_division=0),
        "f1": skm.f1_score(y, predicted, pos_label=positive, zero_division=0),
        "roc_auc": skm.roc_auc_score(y == positive, proba[:, classes.index(positive)]),
        "log_loss": skm.log_loss(y, proba, labels=classes),
    }


def evaluate(model: Pipeline, train_set: pd.DataFrame, test_set: pd.DataFrame, params: dict, out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target, positive = params["data"]["target"], params["data"]["positive_label"]
    evaluation, seed = params["evaluation"], params["split"]["random_state"]
    X_train, y_train = train_set.drop(columns=[target]), train_set[target]
    X_test, y_test = test_set.drop(columns=[target]), test_set[target]
    report = {"train": scores(model, X_train, y_train, positive), "test": scores(model, X_test, y_test, positive),
              "confusion_matrix": skm.confusion_matrix(y_test, model.predict(X_test)).tolist()}

    lc = train_set if len(train_set) <= evaluation["learning_curve_max_rows"] else train_set.sample(
        n=evaluation["learning_curve_max_rows"], random_state=seed)
    from sklearn.base import clone

    sizes, lc_train, lc_valid = learning_curve(
        clone(model), lc.drop(columns=[target]), lc[target], cv=evaluation["learning_curve_cv"], scoring="roc_auc",
        train_sizes=np.linspace(0.1, 1.0, 5), shuffle=True, random_state=seed)
    pi_rows = min(evaluation["plot_max_rows"], 5_000)
    pi = test_set if len(test_set) <= pi_rows else test_set.sample(n=pi_rows, random_state=seed)
    importance = permutation_importance(model, pi.drop(columns=[target]), pi[target], scoring="roc_auc",
                                        n_repeats=5, random_state=seed)

    plot = test_set if len(test_set) <= evaluation["plot_max_rows"] else test_set.sample(
        n=evaluation["plot_max_rows"], random_state=0)
    out.mkdir(parents=True, exist_ok=True)
    classes = list(model.classes_)
    fig, ax = plt.subplots()
    skm.RocCurveDisplay.from_predictions(plot[target] == positive,
                                         model.predict_proba(plot.drop(columns=[target]))[:, classes.index(positive)],
                                         ax=ax)
    fig.savefig(out / "roc_curve.png", dpi=110)
    fig, ax = plt.subplots()
    skm.ConfusionMatrixDisplay(np.asarray(report["confusion_matrix"]), display_labels=classes).plot(ax=ax)
    fig.savefig(out / "confusion_matrix.png", dpi=110)
    fig, ax = plt.subplots()
    ax.plot(sizes, lc_train.mean(axis=1), marker="o")
    ax.plot(sizes, lc_valid.mean(axis=1), marker="o")
    fig.savefig(out / "learning_curve.png", dpi=110)
    fig, ax = plt.subplots()
    ax.barh(X_test.columns, importance.importances_mean, xerr=importance.importances_std)
    fig.savefig(out / "feature_importance.png", dpi=110)
    plt.close("all")
    (out / "evaluation_report.json").write_text(json.dumps(report, default=float))
    return report


def score(model: Pipeline, new: pd.DataFrame, chunk_rows: int) -> pd.DataFrame:
    parts = []
    for start in range(0, len(new), chunk_rows):
        chunk = new.iloc[start:start + chunk_rows]
        proba = model.predict_proba(chunk)
        part = pd.DataFrame({"prediction": model.predict(chunk)}, index=chunk.index)
        for index, label in enumerate(model.classes_):
            part[f"proba_{label}"] = proba[:, index]
        parts.append(part)
    return pd.concat([new, pd.concat(parts)], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="training CSV (with the target)")
    parser.add_argument("--new-data", type=Path, required=True, help="CSV of rows to score")
    parser.add_argument("--workdir", type=Path, required=True, help="where model and outputs are written")
    parser.add_argument("--params", default="", help="Kedro-style overrides, a.b=value,...")
    parser.add_argument("--stage", choices=("all", *STAGES), default="all")
    args = parser.parse_args()
    params = load_parameters(args.params)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    stage = args.stage
    started = time.perf_counter()

    if stage in ("all", "data_validation"):
        raw, new = pd.read_csv(args.data), pd.read_csv(args.new_data)
        pandas_check(raw, suite_rules("training"))
        pandas_check(new, suite_rules("new_data"))
    if stage in ("all", "feature_engineering"):
        train_set, test_set = split(raw if stage == "all" else pd.read_csv(args.data), params)
        if stage != "all":
            train_set.to_parquet(work / "train_set.parquet")
            test_set.to_parquet(work / "test_set.parquet")
    elif stage in ("training", "evaluation"):
        train_set, test_set = pd.read_parquet(work / "train_set.parquet"), pd.read_parquet(work / "test_set.parquet")
    if stage in ("all", "training"):
        model, cv_results = train(train_set, params)
        joblib.dump(model, work / "model.pkl")
        cv_results.to_csv(work / "cv_results.csv", index=False)
    elif stage in ("evaluation", "inference"):
        model = joblib.load(work / "model.pkl")
    if stage in ("all", "evaluation"):
        evaluate(model, train_set, test_set, params, work / "reporting")
    if stage in ("all", "inference"):
        new = new if stage == "all" else pd.read_csv(args.new_data)
        score(model, new, params["inference"]["chunk_rows"]).to_csv(work / "predictions.csv", index=False)
    print(json.dumps({"stage": stage, "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
