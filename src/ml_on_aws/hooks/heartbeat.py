"""A line in the run's log whenever it has been silent for HEARTBEAT_SECONDS.

Progress lines come between steps (ml_on_aws.core.progress), but one step can take minutes on a
large table or a busy machine: a single fit of the search's best candidate on every row, a
large file loaded or saved. While a pipeline runs, a thread watches the log and, after
HEARTBEAT_SECONDS without a line, says what is running (the node, the dataset being loaded or
saved, the progress step) and for how long.
"""

from __future__ import annotations

import logging
import threading
import time

from kedro.framework.hooks import hook_impl

from ml_on_aws.core.progress import current_activity

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 25.0


class _LastLine(logging.Handler):
    """Remembers when the log last had a line (a handler on the root logger sees every line)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.at = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        self.at = time.monotonic()


class HeartbeatHooks:
    def __init__(self, seconds: float = HEARTBEAT_SECONDS) -> None:
        self.seconds = seconds
        self._last_line: _LastLine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._where: tuple[str, float] = ("the pipeline", time.monotonic())

    def _at(self, where: str) -> None:
        self._where = (where, time.monotonic())

    @hook_impl
    def before_pipeline_run(self) -> None:
        self._last_line = _LastLine()
        logging.getLogger().addHandler(self._last_line)
        self._stop.clear()
        self._at("the pipeline")
        self._thread = threading.Thread(target=self._watch, name="ml_on_aws-heartbeat", daemon=True)
        self._thread.start()

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str) -> None:
        self._at(f"loading {dataset_name}")

    @hook_impl
    def before_node_run(self, node) -> None:
        self._at(f"node {node.name}")

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        self._at(f"saving {dataset_name}")

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._end()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._end()

    def _end(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._last_line is not None:
            logging.getLogger().removeHandler(self._last_line)
        self._thread = self._last_line = None

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.seconds / 4)):
            if time.monotonic() - self._last_line.at >= self.seconds:
                logger.info("Still working: %s.", self.describe())

    def describe(self) -> str:
        """The node or dataset in hand, and the progress step running in it, with their ages."""
        now = time.monotonic()
        where, since = self._where
        text = f"{where} for {now - since:.0f} s"
        running = current_activity()
        if running is not None and running[1] >= since:
            text += f", {running[0]} for {now - running[1]:.0f} s"
        return text
