"""SageMaker's data capture records: read as AWS documents them, written as SageMaker writes them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from ml_on_aws.core.data_capture import (
    CaptureFormatError,
    capture_record,
    hour_of_capture_file,
    read_capture_record,
)

# The example of the SageMaker developer guide ("View captured data"), one record.
DOCUMENTED = (
    '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
    '"data":"69,0,153.7,109,194.0\\n","encoding":"CSV"},"endpointOutput":{"observedContentType":'
    '"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.0254181120544672","encoding":"CSV"}},'
    '"eventMetadata":{"eventId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","inferenceTime":"2022-02-14T17:25:49Z"},'
    '"eventVersion":"0"}'
)


def test_the_documented_record():
    record = read_capture_record(DOCUMENTED)
    assert record.event_id == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" and record.inference_id is None
    assert record.inference_time == datetime(2022, 2, 14, 17, 25, 49, tzinfo=UTC)
    assert record.request.body == b"69,0,153.7,109,194.0\n" and record.request.content_type == "text/csv"
    assert record.response.body == b"0.0254181120544672"


def test_written_records_read_back_with_base64_for_other_content_types():
    moment = datetime(2026, 11, 2, 8, 0, 5, tzinfo=UTC)
    written = capture_record(request=b'{"a":1}\n{"a":2}\n', request_content_type="application/jsonlines",
                             response=b'{"predictions":[]}', response_content_type="application/json",
                             inference_time=moment, event_id="e1", inference_id="i1")
    assert written["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert written["captureData"]["endpointOutput"] == {"observedContentType": "application/json", "mode": "OUTPUT",
                                                       "data": '{"predictions":[]}', "encoding": "JSON"}
    record = read_capture_record(json.dumps(written))
    assert (record.request.body, record.inference_id, record.inference_time) == (b'{"a":1}\n{"a":2}\n', "i1", moment)
    forced = capture_record(request=b"1,2", request_content_type="text/csv", response=b"x", response_content_type="text/csv",
                            inference_time=moment, event_id="e2", base64_only=True)
    assert forced["captureData"]["endpointInput"]["data"] == base64.b64encode(b"1,2").decode()


@pytest.mark.parametrize(("line", "message"), [
    ('{"captureData": {"endpointInput"', "not JSON"),
    ('{"eventMetadata": {}}', "no captureData"),
    ('{"captureData": {}, "eventMetadata": {"inferenceTime": "2022-02-14T17:25:49Z"}}', "neither endpointInput"),
    (DOCUMENTED.replace('"encoding":"CSV"}', '"encoding":"GZIP"}', 1), "encoding 'GZIP' is none of CSV, JSON, BASE64"),
    (DOCUMENTED.replace('"encoding":"CSV"}', '"encoding":"BASE64"}', 1), "endpointInput.data is not valid base64"),
    (DOCUMENTED.replace("2022-02-14T17:25:49Z", "yesterday"), "inferenceTime 'yesterday' is not an ISO-8601 time"),
])
def test_what_is_wrong_with_a_line_is_named(line, message):
    with pytest.raises(CaptureFormatError, match=message):
        read_capture_record(line)


def test_the_hour_folder_of_a_capture_file():
    assert hour_of_capture_file("ep/AllTraffic/2026/11/02/08/00-01-000-x.jsonl") == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert hour_of_capture_file("loose.jsonl") is None
