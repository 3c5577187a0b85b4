"""An S3 API over real HTTP (moto's server on 127.0.0.1) and the environment that points at it."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import boto3

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Variables that could send the tests to a real account or change the endpoint behind our back.
_AWS_VARIABLES_TO_CLEAR = (
    "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "ML_ON_AWS_BUCKET", "ML_ON_AWS_PREFIX",
)


# One log record per line, unwrapped, so that tests can assert on whole messages.
_PLAIN_LOGGING = """\
version: 1
disable_existing_loggers: false
formatters:
  plain: {format: "%(levelname)s %(name)s %(message)s"}
handlers:
  console: {class: logging.StreamHandler, formatter: plain, stream: ext://sys.stdout}
root: {level: INFO, handlers: [console]}
"""


def aws_environment(endpoint: str, bucket: str, prefix: str, tmp_path) -> dict[str, str]:
    """What a user exports to run `--env aws` against ``endpoint``; no shared config files."""
    env = {k: v for k, v in os.environ.items() if k not in _AWS_VARIABLES_TO_CLEAR}
    logging_config = tmp_path / "plain_logging.yml"
    logging_config.write_text(_PLAIN_LOGGING)
    return {
        "KEDRO_LOGGING_CONFIG": str(logging_config),
        **env,
        **FAKE_CREDENTIALS,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_ENDPOINT_URL": endpoint,
        "ML_ON_AWS_BUCKET": bucket,
        "ML_ON_AWS_PREFIX": prefix,
    }


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def list_keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    paginator = s3_client(endpoint).get_paginator("list_objects_v2")
    return sorted(o["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", []))


@contextmanager
def moto_enforces_credentials(endpoint: str) -> Iterator[None]:
    """From now on moto checks access keys against its IAM (where ours do not exist)."""
    def reset(count: str) -> str:
        # Not form-encoded: moto reads the raw body.
        request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]

    previous = reset("0")
    try:
        yield
    finally:
        reset(str(previous))


def closed_port_endpoint() -> str:
    """An endpoint where nothing listens: a port bound and released again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class EndpointThatDiesAfter:
    """A TCP proxy in front of the S3 server that goes down for good once a given request is done.

    The next request after one whose request line (e.g. ``PUT /bucket/key HTTP/1.1``) matches
    ``pattern`` finds the proxy gone: the
    connection is dropped and the port refuses connections from then on, as when an S3-compatible
    service crashes or the network to it is cut in the middle of a run.
    """

    _REQUEST_LINE = re.compile(rb"(?:GET|PUT|HEAD|POST|DELETE) \S+ HTTP/1\.[01]\r\n")

    def __init__(self, upstream: str, pattern: str) -> None:
        self._upstream = urlparse(upstream)
        self._pattern = re.compile(pattern.encode())
        self._matched = threading.Event()
        self.down = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.down.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self._upstream.hostname, self._upstream.port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        while chunk := self._recv(client):
            for match in self._REQUEST_LINE.finditer(chunk):
                if self._matched.is_set():
                    self.go_down()
                    return
                if self._pattern.search(match.group(0)):
                    self._matched.set()
            try:
                upstream.sendall(chunk)
            except OSError:
                return

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        while chunk := self._recv(source):
            try:
                target.sendall(chunk)
            except OSError:
                return

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def go_down(self) -> None:
        self.down.set()
        for sock in [self._listener, *self._sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
