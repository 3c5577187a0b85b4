"""Memory a node freed goes back to the operating system before the next node runs."""

import sys

import numpy as np
import psutil
import pyarrow as pa
import pytest

from ml_on_aws import settings
from ml_on_aws.hooks.memory import MemoryHooks, release_unused_memory


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and mimalloc behaviour is what is tested")
def test_memory_freed_by_arrow_returns_to_the_system():
    # Arrow's allocator keeps freed memory for reuse; string arrays like those a Parquet read
    # makes, ~130 MB of them, stay in the process after they are dropped.
    tables = [pa.array(np.arange(200_000) * 1.5).cast(pa.string()) for _ in range(20)]
    del tables
    held = _rss_mib()
    release_unused_memory()
    assert held - _rss_mib() > 40


def test_every_run_releases_memory_around_each_node():
    assert any(isinstance(hook, MemoryHooks) for hook in settings.HOOKS)
