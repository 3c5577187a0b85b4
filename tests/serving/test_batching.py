"""Micro-batching gives each request exactly its own predictions, and errors only to the faulty one."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from ml_on_aws.container.serving.batching import MicroBatcher, score_together

calls: list[int] = []


def double(frame: pd.DataFrame) -> pd.DataFrame:
    calls.append(len(frame))
    if (frame["x"] < 0).any():
        raise ValueError("negative x")
    return pd.DataFrame({"prediction": frame["x"] * 2}, index=frame.index)


def test_frames_with_equal_dtypes_are_scored_in_one_call():
    calls.clear()
    frames = [pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]}), pd.DataFrame({"x": [4.5]})]
    outcomes = score_together(double, frames)
    assert [o["prediction"].tolist() for o in outcomes] == [[2, 4], [6], [9.0]]
    assert sorted(calls) == [1, 3]  # the two int frames together, the float frame alone


def test_a_failing_frame_gets_the_error_and_the_others_their_predictions():
    outcomes = score_together(double, [pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [-1]}), pd.DataFrame({"x": [5]})])
    assert outcomes[0]["prediction"].tolist() == [2] and outcomes[2]["prediction"].tolist() == [10]
    assert isinstance(outcomes[1], ValueError)


def test_concurrent_requests_share_batches_and_get_their_own_rows():
    calls.clear()

    async def scenario():
        batcher = MicroBatcher(double)
        frames = [pd.DataFrame({"x": [i, i + 100]}) for i in range(20)]
        return await asyncio.gather(*(batcher.predict(f) for f in frames))

    results = asyncio.run(scenario())
    assert [r["prediction"].tolist() for r in results] == [[2 * i, 2 * (i + 100)] for i in range(20)]
    assert len(calls) < 20  # requests that waited were scored together


def test_an_error_reaches_only_its_request():
    async def scenario():
        batcher = MicroBatcher(double)
        return await asyncio.gather(batcher.predict(pd.DataFrame({"x": [1]})),
                                    batcher.predict(pd.DataFrame({"x": [-1]})), return_exceptions=True)

    good, bad = asyncio.run(scenario())
    assert good["prediction"].tolist() == [2]
    with pytest.raises(ValueError, match="negative"):
        raise bad
