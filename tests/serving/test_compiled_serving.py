"""In-process server with and without the compiled path: the same answers as scikit-learn's."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from starlette.testclient import TestClient

from ml_on_aws.container.serving import payload
from ml_on_aws.container.serving.app import create_app
from ml_on_aws.container.serving.fast_rows import typed_rows
from ml_on_aws.container.serving.model import load_served_model
from ml_on_aws.container.serving.settings import ServerSettings
from ml_on_aws.core.predictions import predict_frame

from ..conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "credit_data_new.csv").head(40)


@pytest.fixture(scope="module")
def served(model_dir):
    return load_served_model(model_dir)


@pytest.fixture(scope="module", params=["compiled", "scikit-learn"])
def client(request, model_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ML_ON_AWS_COMPILED", "1" if request.param == "compiled" else "0")
        app = create_app(ServerSettings(model_dir=str(model_dir)))
        with TestClient(app) as running:
            assert (app.state.model.served.compiled is not None) == (request.param == "compiled")
            yield running


def bodies(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    split = {"columns": list(rows.columns), "data": json.loads(rows.to_json(orient="values"))}
    return {
        "csv-header": (rows.to_csv(index=False), payload.CSV),
        "csv-no-header": (rows.to_csv(index=False, header=False), payload.CSV),
        "json-records": (rows.to_json(orient="records"), payload.JSON),
        "json-split": (json.dumps({"dataframe_split": split}), payload.JSON),
        "json-lines": (rows.to_json(orient="records", lines=True), payload.JSONLINES),
    }


@pytest.mark.parametrize("kind", ["csv-header", "csv-no-header", "json-records", "json-split", "json-lines"])
@pytest.mark.parametrize("count", [1, 40])
def test_invocations_answer_scikit_learns_predictions(client, served, rows, kind, count):
    chosen = rows.head(count)
    body, content_type = bodies(chosen)[kind]
    expected = predict_frame(served.model, chosen)
    response = client.post("/invocations", content=body, headers={"Content-Type": content_type, "Accept": payload.CSV})
    assert response.status_code == 200, response.text
    header = kind == "csv-header"
    got = pd.read_csv(io.StringIO(response.text), header=0 if header else None, names=None if header else served.outputs)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    # CSV numbers are written in their shortest exact form: equal floats, not merely close ones.
    assert got.drop(columns="prediction").to_numpy().tolist() == expected.drop(columns="prediction").to_numpy().tolist()
    assert response.headers["X-Prediction-Columns"] == ",".join(served.outputs)


def test_json_answers_are_the_same_bytes_either_way(model_dir, served, rows, monkeypatch):
    body = rows.head(3).to_json(orient="records")
    answers = []
    for switch in ("1", "0"):
        monkeypatch.setenv("ML_ON_AWS_COMPILED", switch)
        with TestClient(create_app(ServerSettings(model_dir=str(model_dir)))) as client:
            answers.append(client.post("/invocations", content=body, headers={"Content-Type": payload.JSON}).content)
    assert answers[0] == answers[1]
    got = pd.DataFrame(json.loads(answers[0])["predictions"])
    pd.testing.assert_frame_equal(got, predict_frame(served.model, rows.head(3)).reset_index(drop=True))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        ('[{"Seniority": 9, "Age": 30}]', payload.JSON, 400, ["Missing column(s)", "Income", "Price", "Home"]),
        ("Seniority,Home,Age\n9,rent,30\n", payload.CSV, 400, ["Missing column(s)", "Income", "Job"]),
        ("9,rent,60\n", payload.CSV, 400, ["13 fields", "Seniority, Home, Time"]),
        ('[{"Seniority": 1,', payload.JSON, 400, ["Malformed JSON"]),
        ("[]", payload.JSON, 400, ["no rows"]),
    ],
)
def test_bad_requests_get_todays_messages(client, body, content_type, status, words):
    response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    for word in words:
        assert word in response.json()["error"]


def test_values_the_fast_parser_leaves_to_pandas_are_answered_as_scikit_learn_does(client, served, rows):
    odd = rows.head(4).astype(object)
    odd.loc[odd.index[0], "Income"] = "1200"          # a number as text: coerced like in training
    odd.loc[odd.index[1], "Home"] = 7                 # a number as a category: "7", unknown
    odd.loc[odd.index[2], "Job"] = "a job never seen"  # an unknown category in the fast path
    odd.loc[odd.index[3], "Price"] = None
    body = json.dumps(odd.to_dict(orient="records"))
    expected = predict_frame(served.model, pd.DataFrame.from_records(json.loads(body)))
    response = client.post("/invocations", content=body, headers={"Content-Type": payload.JSON})
    got = pd.DataFrame(response.json()["predictions"])
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    assert got["proba_bad"].tolist() == expected["proba_bad"].tolist()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('Seniority,Home\n"9",rent\n', payload.CSV),                   # quoting
        ("Seniority,Home,Time,Age,Marital,Records,Job,Expenses,Income,Assets,Debt,Amount,Price\n"
         "9,1,60,30,married,no,fixed,73,129,0,0,800,846\n", payload.CSV),  # a number in a categorical column
        ('[{"Seniority": true}]', payload.JSON),                        # a boolean
        ('[{"Seniority": 9}]', payload.JSON),                           # missing columns
        ('{"Seniority": 9}\n{"Seniority": 9}', payload.JSONLINES),       # JSON Lines
    ],
)
def test_the_fast_parser_takes_only_what_types_as_through_pandas(served, body, content_type):
    assert typed_rows(body.encode(), content_type, served.compiled, served.columns) is None


def test_the_fast_parser_types_rows_as_the_pipeline_does(served, rows):
    from ml_on_aws.pipelines.feature_engineering.compiled import typed_columns

    for body, content_type in bodies(rows).values():
        parsed = typed_rows(body.encode(), content_type, served.compiled, served.columns)
        if content_type == payload.JSONLINES:
            continue
        assert parsed is not None, body[:200]
        expected = typed_columns(served.compiled, rows)
        for name, values in expected.items():
            assert pd.Series(parsed[0][name]).equals(pd.Series(values)), name
