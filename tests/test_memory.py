"""Memory a node freed goes back to the operating system before the next node runs."""

import sys

import numpy as np
import psutil
import pyarrow as pa
import pytest
from kedro.framework.hooks import specs
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner
from pluggy import PluginManager

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


def _free_arrow_strings() -> float:
    """What a node that read and dropped a Parquet table leaves: freed Arrow memory, still held."""
    tables = [pa.array(np.arange(200_000) * 1.5).cast(pa.string()) for _ in range(20)]
    del tables
    return _rss_mib()


def _freed_since(held: float) -> float:
    return held - _rss_mib()


def _freed_before_the_next_node(hooks: list) -> float:
    manager = PluginManager("kedro")
    manager.add_hookspecs(specs.NodeSpecs)
    manager.add_hookspecs(specs.DatasetSpecs)
    for hook in hooks:
        manager.register(hook)
    pipeline = Pipeline([node(_free_arrow_strings, None, "held"), node(_freed_since, "held", "freed")])
    catalog = DataCatalog()
    SequentialRunner().run(pipeline, catalog, hook_manager=manager)
    return catalog.load("freed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and mimalloc behaviour is what is tested")
def test_every_run_releases_memory_around_each_node():
    registered = [hook for hook in settings.HOOKS if isinstance(hook, MemoryHooks)]
    assert _freed_before_the_next_node([]) < 40  # without the hook the memory stays in the process
    assert _freed_before_the_next_node(registered) > 40
