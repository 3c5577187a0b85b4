"""A silent log gets a line saying what runs, while the pipeline runs and only then."""

import logging
import time

from ml_on_aws.core.progress import activity
from ml_on_aws.hooks.heartbeat import HeartbeatHooks


class _Node:
    name = "train_model"


def _wait_for(caplog, text, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = [r.getMessage() for r in caplog.records if text in r.getMessage()]
        if lines:
            return lines
        time.sleep(0.05)
    return []


def test_a_silent_step_gets_lines_naming_the_node_and_the_step(caplog):
    hooks = HeartbeatHooks(seconds=0.1)
    caplog.set_level(logging.INFO, logger="ml_on_aws")
    hooks.before_pipeline_run()
    try:
        hooks.before_node_run(_Node())
        with activity("search candidate 3/8"):
            lines = _wait_for(caplog, "Still working")
    finally:
        hooks.after_pipeline_run()
    assert lines and lines[0].startswith("Still working: node train_model for ")
    assert ", search candidate 3/8 for " in lines[0]
    caplog.clear()
    time.sleep(0.3)
    assert not [r for r in caplog.records if "Still working" in r.getMessage()]  # the watch ended with the run
    assert not [h for h in logging.getLogger().handlers if type(h).__name__ == "_LastLine"]
