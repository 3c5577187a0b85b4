"""The SageMaker inference contract over real HTTP, good requests and every kind of bad one."""

from __future__ import annotations

import io
import json
import signal

import httpx
import pandas as pd
import pytest

from ml_on_aws.container.serving import load_model
from ml_on_aws.core.predictions import predict_frame

from ..conftest import PROJECT_ROOT
from .conftest import start_server

pytestmark = pytest.mark.slow

CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "credit_data_new.csv").head(25)


@pytest.fixture(scope="module")
def expected(model_dir, rows) -> pd.DataFrame:
    return predict_frame(load_model(model_dir), rows)


def post(server, body, headers) -> httpx.Response:
    return httpx.post(f"{server.url}/invocations", content=body, headers=headers, timeout=30)


def assert_json_predictions(response: httpx.Response, expected: pd.DataFrame) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    got = pd.DataFrame(response.json()["predictions"])
    assert list(got.columns) == ["prediction", "proba_bad", "proba_good"]
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    assert got["proba_bad"].to_numpy() == pytest.approx(expected["proba_bad"].to_numpy())


def test_ping_answers_once_the_model_is_loaded(server):
    response = httpx.get(f"{server.url}/ping")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_csv_with_header(server, rows, expected):
    assert_json_predictions(post(server, rows.to_csv(index=False), {**CSV, "Accept": "application/json"}), expected)


def test_csv_without_header_in_training_column_order_answers_csv_without_header(server, rows, expected):
    response = post(server, rows.to_csv(index=False, header=False), CSV)  # as batch transform sends it
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    got = pd.read_csv(io.StringIO(response.text), header=None, names=["prediction", "proba_bad", "proba_good"])
    assert len(got) == len(rows) and got["prediction"].tolist() == expected["prediction"].tolist()
    assert response.headers["x-prediction-columns"] == "prediction,proba_bad,proba_good"


def test_json_records_and_split_orientations(server, rows, expected):
    assert_json_predictions(post(server, rows.to_json(orient="records"), JSON), expected)
    assert_json_predictions(post(server, rows.to_json(orient="split", index=False), JSON), expected)
    # MLflow's scoring-server wrapper is understood too.
    wrapped = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    assert_json_predictions(post(server, wrapped, JSON), expected)


@pytest.mark.parametrize("content_type", ["application/jsonlines", "application/json"])
def test_json_lines_as_batch_transform_joins_them_answer_one_line_per_row(server, rows, expected, content_type):
    # SplitType Line + BatchStrategy MultiRecord: several records, one per line, in one request.
    body = rows.to_json(orient="records", lines=True)
    response = post(server, body, {"Content-Type": content_type, "Accept": "application/jsonlines"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonlines")
    answers = [json.loads(line) for line in response.text.splitlines()]
    assert len(answers) == len(rows)
    assert [a["prediction"] for a in answers] == expected["prediction"].tolist()
    assert_json_predictions(post(server, body, {"Content-Type": content_type, "Accept": "application/json"}), expected)


def test_a_malformed_json_lines_record_is_a_400(server, rows):
    body = rows.head(2).to_json(orient="records", lines=True) + '{"Income": \n'
    response = post(server, body, {"Content-Type": "application/jsonlines"})
    assert response.status_code == 400 and "Malformed JSON" in response.json()["error"]


def test_accept_header_chooses_the_answer_format(server, rows, expected):
    response = post(server, rows.to_json(orient="records"), {**JSON, "Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    # No header line: one line per row, as the SageMaker SDK's CSVDeserializer counts them.
    got = pd.read_csv(io.StringIO(response.text), header=None, names=response.headers["x-prediction-columns"].split(","))
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    assert_json_predictions(post(server, rows.to_csv(index=False, header=False), {**CSV, "Accept": "application/json"}), expected)
    response = post(server, rows.to_csv(index=False), {**CSV, "Accept": "image/png"})
    assert response.status_code == 406 and "text/csv" in response.json()["error"]


PREDICTION_COLUMNS = "prediction,proba_bad,proba_good"


@pytest.mark.parametrize("line_end", ["\n", "", "\r\n"])
@pytest.mark.parametrize(
    ("accept", "answer"),
    [("text/csv", PREDICTION_COLUMNS + "\n"), ("application/json", '{"predictions":[]}'), ("application/jsonlines", "")],
)
def test_a_csv_header_line_alone_is_answered_with_the_predictions_header_only(server, rows, accept, answer, line_end):
    # What SplitType Line + BatchStrategy SingleRecord sends first for a CSV file with a header
    # (payload.check_columns cites SageMaker's documentation): not a 400 but "no predictions",
    # rendered like any answer: the header line in CSV, no rows in JSON and JSON Lines.
    response = post(server, ",".join(rows.columns) + line_end, {**CSV, "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    assert response.text == answer
    assert response.headers["x-prediction-columns"] == PREDICTION_COLUMNS


@pytest.mark.parametrize("accept", ["text/csv", "application/jsonlines"])
def test_a_single_record_transform_of_a_csv_with_a_header_gives_the_multi_record_output(server, rows, accept):
    # A batch transform with SplitType Line, BatchStrategy SingleRecord and AssembleWith Line as
    # the SageMaker Python SDK's local mode runs it (sagemaker/local/data.py, entities.py
    # _perform_batch_inference): every line of the file, read with its line end, is one request,
    # the header line first; each answer is written followed by a newline. The SDK itself is not
    # a dependency of this project; this loop is what it does.
    file = rows.to_csv(index=False)
    headers = {**CSV, "Accept": accept}
    output = ""
    for record in io.StringIO(file):
        response = post(server, record, headers)
        assert response.status_code == 200, response.text  # a 400's error body would be an output line
        output += response.text + "\n"
    multi = post(server, file, headers)  # MultiRecord: the lines of the file together, header first
    assert multi.status_code == 200, multi.text
    # Each answer ends its own line and AssembleWith adds one: blank lines between records.
    lines = [line for line in output.splitlines() if line]
    assert lines == multi.text.splitlines()
    assert len(lines) == len(rows) + (accept == "text/csv")
    if accept == "text/csv":
        assert lines[0] == PREDICTION_COLUMNS


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        ("a,b\n1,2\n", {"Content-Type": "text/plain"}, 415, ["text/plain", "text/csv", "application/json"]),
        ("x", {}, 415, ["(none)"]),
        ('[{"Seniority": 1,', JSON, 400, ["Malformed JSON"]),
        ("[[1, 2, 3]]", JSON, 400, ["records", "split"]),
        ('{"columns": ["Age"], "data": [[1, 2]]}', JSON, 400, ["1 values"]),
        ("", JSON, 400, ["empty"]),
        ('[{"Seniority": 9, "Age": 30}]', JSON, 400, ["Missing column(s)", "Income", "Price", "Home"]),
        ("9,rent,60\n", CSV, 400, ["13 fields", "Seniority, Home, Time"]),
        ('Seniority,Home,Age\n9,rent,"30\n', CSV, 400, ["Malformed CSV"]),
        ("Seniority,Home,Age\n9,rent,30\n", CSV, 400, ["Missing column(s)", "Income", "Job"]),
        ("Seniority,Home,Age\n", CSV, 400, ["Missing column(s)", "Income", "Job"]),  # a header alone too
        ("[]", JSON, 400, ["no rows"]),  # only a CSV header line may come without rows
        (b"\xff\xfe\x00bad", CSV, 400, ["not UTF-8"]),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem_and_the_server_keeps_serving(server, rows, expected, body, headers, status, words):
    response = post(server, body, headers)
    assert response.status_code == status, response.text
    message = response.json()["error"]
    for word in words:
        assert word in message, message
    assert "Traceback" not in response.text
    assert_json_predictions(post(server, rows.to_json(orient="records"), JSON), expected)


def test_nested_json_values_are_a_400_naming_the_column(server, rows, expected):
    odd = rows.head(2).astype(object)
    odd["Income"] = [1000, {"a": 1}]  # a structure where a number belongs
    response = post(server, json.dumps(odd.to_dict(orient="records")), JSON)
    assert response.status_code == 400 and "'Income'" in response.json()["error"]
    assert_json_predictions(post(server, rows.to_json(orient="records"), JSON), expected)


def test_payload_over_the_limit_is_refused_with_413(server, rows, expected):
    big = pd.concat([rows] * 3000).to_csv(index=False)  # ~4.6 MB against a 1 MB limit
    assert len(big) > 1024 * 1024
    response = post(server, big, CSV)
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert_json_predictions(post(server, rows.to_json(orient="records"), JSON), expected)


def test_a_transform_jobs_larger_max_payload_is_accepted(model_dir, tmp_path, rows):
    # SageMaker sets SAGEMAKER_MAX_PAYLOAD_IN_MB from the transform job's MaxPayloadInMB and sends
    # mini-batches up to that size: our own smaller limit must not refuse them.
    server = start_server(model_dir, tmp_path / "server.log", ML_ON_AWS_MAX_PAYLOAD_MB="1", SAGEMAKER_MAX_PAYLOAD_IN_MB="3")
    try:
        big = pd.concat([rows] * 1000).to_csv(index=False, header=False)  # ~1.5 MB
        assert 1024 * 1024 < len(big) < 3 * 1024 * 1024
        response = post(server, big, CSV)
        assert response.status_code == 200, response.text
        assert len(response.text.splitlines()) == len(rows) * 1000
        over = pd.concat([rows] * 3000).to_csv(index=False, header=False)  # ~4.5 MB: over SageMaker's limit too
        assert post(server, over, CSV).status_code == 413
    finally:
        server.stop()


def test_every_worker_answers_once_ping_says_ready(model_dir, tmp_path, rows, expected):
    # The workers share the port: a request may reach any of them, the first one to ping 200 or not.
    server = start_server(model_dir, tmp_path / "server.log", workers=2)
    try:
        for _ in range(12):
            assert_json_predictions(post(server, rows.to_json(orient="records"), JSON), expected)
    finally:
        server.stop()


def test_ping_is_503_with_the_reason_while_no_model_can_be_loaded(tmp_path, rows):
    server = start_server(tmp_path / "nowhere", tmp_path / "server.log", ready_status=503)
    try:
        response = httpx.get(f"{server.url}/ping")
        assert response.status_code == 503 and "does not exist" in response.json()["error"]
        assert post(server, rows.to_json(orient="records"), JSON).status_code == 503
    finally:
        server.stop()


def test_sigterm_shuts_down_gracefully(model_dir, tmp_path):
    server = start_server(model_dir, tmp_path / "server.log")
    # uvicorn finishes the requests in flight, then exits by re-raising the signal.
    assert server.stop() in (0, -signal.SIGTERM)
    log = server.log.read_text()
    assert "Waiting for application shutdown" in log and "Finished server process" in log
