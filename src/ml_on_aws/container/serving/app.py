"""The SageMaker inference contract over HTTP: ``GET /ping`` and ``POST /invocations``.

One process per worker; each loads the model during its start-up, before it accepts a
connection: with several workers sharing the port, a worker still loading would otherwise take
requests it cannot answer while another one already says 200 to ``/ping``. Until the first
worker is ready, connections wait in the listen queue; a model that cannot be loaded makes
``/ping`` (and ``/invocations``) answer 503 with the reason, so SageMaker reports it. A request is parsed in a thread,
scored by the worker's micro-batcher (requests that wait together are predicted together,
see ``batching``), and rendered.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_on_aws.container.serving import payload
from ml_on_aws.container.serving.batching import MicroBatcher
from ml_on_aws.container.serving.fast_rows import MAX_BYTES as FAST_MAX_BYTES
from ml_on_aws.container.serving.fast_rows import typed_rows
from ml_on_aws.container.serving.settings import ServerSettings

logger = logging.getLogger("ml_on_aws.container.serving")


@dataclass
class ModelState:
    """The model of this worker, once loaded, or why it could not be."""

    served: Any = None
    error: str | None = None
    batcher: MicroBatcher | None = None

    def load(self, model_dir: str) -> None:
        from ml_on_aws.container.serving.model import load_served_model

        try:
            served = load_served_model(model_dir)
            self.batcher = MicroBatcher(served.predict)
            self.served = served
            logger.info("Model loaded from %s (%d input columns).", model_dir, len(self.served.columns))
        except Exception as exc:  # the reason is reported by /ping instead of killing the worker
            self.error = f"{type(exc).__name__}: {exc}"
            logger.error("Cannot load the model from %s: %s", model_dir, self.error)


def _json(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type=payload.JSON)


def create_app(settings: ServerSettings | None = None) -> Starlette:
    settings = settings or ServerSettings.from_env()
    if not logging.getLogger().handlers:  # a spawned worker: uvicorn configures only its own loggers
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    state = ModelState()

    async def ping(request: Request) -> Response:
        if state.served is not None:
            return _json(200, b'{"status":"ok"}')
        return _json(503, payload.error_body(f"Model not loaded: {state.error}"))

    async def invocations(request: Request) -> Response:
        try:
            if state.served is None:
                raise payload.RequestError(503, f"Model not loaded: {state.error}.")
            kind = payload.request_format(request.headers.get("content-type"))
            answer = payload.response_format(request.headers.get("accept"), kind)
            body = await _read_body(request, settings.max_payload_bytes)
            served = state.served
            if served.compiled is not None:
                # Small bodies go straight into arrays and through the compiled path on the event
                # loop: about a millisecond, less than handing it to a thread and back costs on a
                # busy machine (each hand-over waits for the scheduler). Others are parsed, scored
                # and rendered in one hand-over. The micro-batcher gains nothing on either.
                answered = _answer_directly(served, body, kind, answer) if len(body) <= FAST_MAX_BYTES else None
                if answered is None:
                    answered = await run_in_threadpool(_answer_in_one_step, served, body, kind, answer)
                return Response(answered, media_type=answer, headers={"X-Prediction-Columns": ",".join(served.outputs)})
            frame, header = await run_in_threadpool(_parse, state.served, body, kind)
            # A CSV header line alone (a SingleRecord transform's first request) has no rows to
            # score: its answer is the predictions' header only, rendered like any other answer.
            predictions = await state.batcher.predict(frame) if len(frame) else state.served.no_predictions()
            return Response(
                payload.render(predictions, answer, header=header), media_type=answer,
                headers={"X-Prediction-Columns": ",".join(map(str, predictions.columns))},
            )
        except payload.RequestError as exc:
            return _json(exc.status, payload.error_body(exc.message))
        except (ValueError, TypeError, KeyError) as exc:
            # Values the model cannot use (e.g. text where it needs numbers, unseen shapes).
            message = " ".join(str(exc).split())[:300]
            return _json(400, payload.error_body(f"The rows could not be scored: {type(exc).__name__}: {message}"))
        except Exception:
            logger.exception("Unexpected error while scoring a request.")
            return _json(500, payload.error_body("Internal error while scoring; the server log has the details."))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from ml_on_aws.container.serving.model import limit_threads

        limit_threads(settings.model_threads)  # the worker threads inherit OMP_NUM_THREADS as well
        await run_in_threadpool(state.load, settings.model_dir)
        yield

    app = Starlette(
        routes=[Route("/ping", ping, methods=["GET"]), Route("/invocations", invocations, methods=["POST"])],
        lifespan=lifespan,
    )
    app.state.model = state
    return app


def _answer_directly(served: Any, body: bytes, kind: str, answer: str) -> bytes | None:
    """The answer's bytes through ``fast_rows`` and the compiled path, or None when the request
    needs the pandas way (its checks and messages, or values the compiled path leaves to scikit-learn)."""
    rows = typed_rows(body, kind, served.compiled, served.columns)
    if rows is None:
        return None
    typed, header = rows
    predictions = served.predict_typed(typed)
    if predictions is None:
        return None
    return payload.render_columns(served.outputs, predictions, answer, header=header)


def _answer_in_one_step(served: Any, body: bytes, kind: str, answer: str) -> bytes:
    """The answer through pandas parsing and ``served.predict`` (the compiled path when it takes the rows)."""
    frame, header = _parse(served, body, kind)
    predictions = served.predict(frame) if len(frame) else served.no_predictions()
    return payload.render(predictions, answer, header=header)


def _parse(served: Any, body: bytes, kind: str) -> tuple[Any, bool]:
    """The request's rows (only the columns the model reads) and whether a CSV had a header."""
    return payload.request_rows(body, kind, served.columns, served.required)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise payload.RequestError(413, f"Payload of {int(declared)} bytes is over the limit of {limit} bytes "
                                        "(ML_ON_AWS_MAX_PAYLOAD_MB or a transform job's MaxPayloadInMB); split it into smaller requests.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise payload.RequestError(413, f"Payload is over the limit of {limit} bytes (ML_ON_AWS_MAX_PAYLOAD_MB or a transform job's MaxPayloadInMB); "
                                            "split it into smaller requests.")
        chunks.append(chunk)
    return b"".join(chunks)
