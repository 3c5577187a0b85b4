"""Long work that says how far it is: a line per finished step with its time and the time left,
and what is running now, for the run's heartbeat (ml_on_aws.hooks.heartbeat) to repeat while a
single step takes long."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_activity: list[tuple[str, float]] = []  # (what, since when) of the steps running now, innermost last


def current_activity() -> tuple[str, float] | None:
    """What runs now and since when (time.monotonic), or None."""
    with _lock:
        return _activity[-1] if _activity else None


@contextmanager
def activity(what: str) -> Iterator[None]:
    """Mark ``what`` as running, for the heartbeat's lines, until the block ends."""
    entry = (what, time.monotonic())
    with _lock:
        _activity.append(entry)
    try:
        yield
    finally:
        with _lock:
            _activity.remove(entry)


class Steps:
    """``total`` steps of one piece of work, each logged when done with the time it took and an
    estimate of what is left (from the mean time per step so far)."""

    def __init__(self, logger: logging.Logger, what: str, total: int) -> None:
        self.logger, self.what, self.total = logger, what, total
        self.done = 0
        self.started = time.monotonic()

    @contextmanager
    def step(self, count: int = 1, label: str = "") -> Iterator[None]:
        """One step (or ``count`` at once) running in the block, logged when it ends."""
        first = self.done + 1
        span = f"{first}/{self.total}" if count == 1 else f"{first}-{self.done + count}/{self.total}"
        began = time.monotonic()
        with activity(f"{self.what} {span}{f' ({label})' if label else ''}"):
            yield
        self.finished(count, f"{span}{f' ({label})' if label else ''} in {time.monotonic() - began:.1f} s")

    def finished(self, count: int, detail: str, estimate: bool = True) -> None:
        """Log ``count`` more finished steps: ``<what> <detail>; <n> left, about <s> s.``
        (without the estimate: ``<what> <detail>.``, e.g. for all but the last of a batch)."""
        self.done += count
        self.logger.info("%s %s%s", self.what, detail, self.remaining() if estimate else ".")

    def remaining(self) -> str:
        left = self.total - self.done
        if left <= 0:
            return f"; done in {time.monotonic() - self.started:.0f} s."
        per_step = (time.monotonic() - self.started) / max(self.done, 1)
        return f"; {left} left, about {per_step * left:.0f} s."
