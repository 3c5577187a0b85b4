"""Reading the events the Lambda functions receive: which new S3 objects an event announces, and
which CloudWatch alarm state change. Nothing here starts a job or calls AWS.

S3 ``ObjectCreated`` events come in the shapes AWS delivers them, each also wrapped by SNS (a
topic's message in a queue, or a topic invoking the function):

- a direct S3 notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``),
- an EventBridge event (``{"source": "aws.s3", "detail-type": "Object Created", ...}``),
- either of them as the body of an SQS message (the handler takes the SQS batch apart and
  :func:`objects_in` reads each body).

An alarm state change comes as an EventBridge event or as the payload of a Lambda alarm action.
An event that asks for no job raises :class:`IgnoredEvent`, whose message says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class IgnoredEvent(Exception):
    """An event (or record) that asks for no job; the message says why."""


@dataclass(frozen=True)
class NewObject:
    bucket: str
    key: str
    version: str  # version id, else ETag, else the event's sequencer: what makes it this object

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _from_s3_record(record: dict[str, Any]) -> NewObject:
    """One record of an S3 notification (``Records[*]`` with ``eventSource`` ``aws:s3``)."""
    name = record.get("eventName", "")
    if not name.startswith("ObjectCreated:"):
        raise IgnoredEvent(f"S3 event {name or '<no eventName>'} is not an ObjectCreated event")
    s3 = record.get("s3") or {}
    obj = s3.get("object") or {}
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    # (S3 -> Lambda, SQS, SNS): "The s3 key provides information about the bucket and object
    # involved in the event. The object key name value is URL encoded. For example, "red
    # flower.jpg" becomes "red+flower.jpg" (Amazon S3 returns "application/x-www-form-urlencoded"
    # as the content type in the response)."
    return _new_object(
        (s3.get("bucket") or {}).get("name"),
        _form_decoded(obj.get("key")),
        obj.get("versionId") or obj.get("eTag") or obj.get("sequencer"),
    )


def _from_eventbridge(event: dict[str, Any]) -> NewObject:
    """An EventBridge ``Object Created`` event of S3."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise IgnoredEvent(
            f"EventBridge event {event.get('source')!r}/{event.get('detail-type')!r} is not an S3 Object Created event"
        )
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    # Decoded like a notification's key. The S3 user guide's EventBridge page
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) states no encoding
    # either way: its field list says only "object — Information about the Amazon S3 object
    # involved in the event", and its "Object created" example key is "example-key", which reads
    # the same encoded or not. AWS's own reader of this event, Powertools for AWS Lambda (Python),
    # decodes it: S3EventBridgeNotificationObject.key is `return unquote_plus(self["key"])`
    # (https://docs.aws.amazon.com/powertools/python/latest/api/utilities/data_classes/s3_event.html),
    # as S3Event.object_key is "Get the object key for the first s3 event record and unquote plus".
    # moto 5.2.5 puts the raw key in this event (its S3 -> SQS path quote_plus-encodes it):
    # the tests hand moto's EventBridge events over encoded the way AWS's reader expects.
    return _new_object(
        (detail.get("bucket") or {}).get("name"),
        _form_decoded(obj.get("key")),
        obj.get("version-id") or obj.get("etag") or obj.get("eTag") or obj.get("sequencer"),
    )


def _form_decoded(key: Any) -> Any:
    """An event's ``application/x-www-form-urlencoded`` key as S3 names the object: ``+`` is a
    space, ``%2B`` a plus, ``%25`` a percent sign, ``%2F`` (how moto sends ``/``) a slash."""
    return unquote_plus(key) if isinstance(key, str) else key


def _new_object(bucket: Any, key: Any, version: Any) -> NewObject:
    """The object of an event whose key the caller has already decoded."""
    if not isinstance(bucket, str) or not bucket:
        raise IgnoredEvent("the event names no bucket")
    if not isinstance(key, str) or not key:
        raise IgnoredEvent("the event names no object key")
    if not version:
        raise IgnoredEvent(f"s3://{bucket}/{key}: the event has no version id, ETag or sequencer to tell one upload from the next")
    return NewObject(bucket=bucket, key=key, version=str(version))


def objects_in(message: Any) -> list[NewObject]:
    """The new objects one S3 notification or EventBridge event announces (an SQS body, say),
    also wrapped by SNS (a topic's message in a queue, or a topic invoking the function).

    Raises :class:`IgnoredEvent` when the message announces none (test events, other kinds).
    """
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except json.JSONDecodeError as exc:
            raise IgnoredEvent(f"the message is not JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(message, dict):
        raise IgnoredEvent(f"the message is a {type(message).__name__}, not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        raise IgnoredEvent("s3:TestEvent (sent when a notification is configured)")
    if message.get("Type") == "Notification" and "Message" in message:  # through SNS
        return objects_in(message["Message"])
    if "detail-type" in message:
        return [_from_eventbridge(message)]
    records = message.get("Records")
    if isinstance(records, list):
        found = []
        for record in records:
            if isinstance(record, dict) and record.get("EventSource") == "aws:sns":  # S3 -> SNS -> Lambda
                found += objects_in((record.get("Sns") or {}).get("Message"))
                continue
            if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
                raise IgnoredEvent("a record is not an S3 event record")
            found.append(_from_s3_record(record))
        return found
    raise IgnoredEvent("neither an S3 notification nor an EventBridge event")


@dataclass(frozen=True)
class AlarmChange:
    name: str
    state: str
    changed_at: str
    reason: str


def alarm_change(event: Any) -> AlarmChange:
    """The alarm state change of an EventBridge event or a Lambda alarm-action payload."""
    if not isinstance(event, dict):
        raise IgnoredEvent(f"the event is a {type(event).__name__}, not a JSON object")
    if event.get("detail-type") == "CloudWatch Alarm State Change":
        data = event.get("detail") or {}
    elif "alarmData" in event:  # the alarm invokes the function directly
        data = event["alarmData"] or {}
    else:
        raise IgnoredEvent("not a CloudWatch alarm state change")
    state = data.get("state") or {}
    name, value = data.get("alarmName"), state.get("value")
    if not name or not value:
        raise IgnoredEvent("the alarm event has no alarm name or state")
    changed_at = state.get("timestamp") or event.get("time") or ""
    if not changed_at:
        raise IgnoredEvent(f"alarm {name}: the event has no time to tell one state change from the next")
    return AlarmChange(name=name, state=value, changed_at=changed_at, reason=state.get("reason", ""))

