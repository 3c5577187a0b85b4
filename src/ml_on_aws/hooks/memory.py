"""Give the memory a node freed back to the operating system before the next node runs.

pyarrow's allocator (mimalloc) and glibc's malloc keep freed memory for reuse rather than
return it. A run that reads a large table, splits it and then trains would hold all of it
through training, the step with the highest peak (its search workers hold copies of the
data): on 1M rows, ~400 MB of the main process was memory no object used.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

from kedro.framework.hooks import hook_impl


def release_unused_memory() -> None:
    if "pyarrow" in sys.modules:  # never import it only to release nothing
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None elsewhere (macOS, musl), where there is nothing to call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


class MemoryHooks:
    """Release unused memory once a node's inputs are loaded and again once it has finished."""

    @hook_impl
    def before_node_run(self, node: Any, inputs: dict[str, Any]) -> None:
        release_unused_memory()

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        release_unused_memory()
