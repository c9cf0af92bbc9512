import asyncio

import numpy as np
import pytest

from latte_serving.backends.batcher import Batch, DynamicBatcher


def _double(inputs):
    return {"y": inputs["x"] * 2}


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_batches_and_get_their_own_rows():
    batches: list[Batch] = []

    async def scenario():
        batcher = DynamicBatcher(
            _double, max_batch_size=8, max_queue_delay_s=0.05, on_batch=batches.append
        )
        batcher.start()
        arrays = [np.full((1 + i % 2, 3), i, dtype=np.float32) for i in range(10)]
        results = await asyncio.gather(*(batcher.submit({"x": a}) for a in arrays))
        await batcher.stop()
        return arrays, results

    arrays, results = _run(scenario())
    for array, result in zip(arrays, results, strict=True):
        np.testing.assert_array_equal(result["y"], array * 2)
    assert sum(b.rows for b in batches) == 15
    assert all(b.rows <= 8 for b in batches)
    assert len(batches) < 10  # requests were run together, not one by one


def test_requests_with_other_trailing_shapes_are_not_mixed():
    batches: list[Batch] = []

    async def scenario():
        batcher = DynamicBatcher(
            _double, max_batch_size=8, max_queue_delay_s=0.02, on_batch=batches.append
        )
        batcher.start()
        a, b = np.ones((1, 3)), np.ones((1, 5))
        results = await asyncio.gather(batcher.submit({"x": a}), batcher.submit({"x": b}))
        await batcher.stop()
        return results

    first, second = _run(scenario())
    assert first["y"].shape == (1, 3)
    assert second["y"].shape == (1, 5)
    assert [b.requests for b in batches] == [1, 1]


def test_a_failing_run_fails_every_caller_and_the_worker_survives():
    calls = []

    def flaky(inputs):
        calls.append(len(inputs["x"]))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return _double(inputs)

    async def scenario():
        batcher = DynamicBatcher(flaky, max_batch_size=4, max_queue_delay_s=0.0)
        batcher.start()
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.submit({"x": np.ones((1, 2))})
        result = await batcher.submit({"x": np.ones((1, 2))})
        await batcher.stop()
        return result

    np.testing.assert_array_equal(_run(scenario())["y"], np.full((1, 2), 2.0))


def test_a_lone_request_does_not_wait_out_the_queue_delay():
    async def scenario():
        batcher = DynamicBatcher(_double, max_batch_size=8, max_queue_delay_s=1.0)
        batcher.start()
        loop = asyncio.get_running_loop()
        took = []
        for value in range(5):
            started = loop.time()
            result = await batcher.submit({"x": np.full((1, 3), value, np.float32)})
            took.append(loop.time() - started)
            np.testing.assert_array_equal(result["y"], np.full((1, 3), 2.0 * value))
        await batcher.stop()
        return took

    assert max(_run(scenario())) < 0.5  # the 1 s delay was never waited out


def test_reused_batch_buffers_never_mix_rows_of_successive_batches():
    batches: list[Batch] = []

    async def scenario():
        batcher = DynamicBatcher(
            _double, max_batch_size=4, max_queue_delay_s=0.01, instances=2,
            on_batch=batches.append,
        )  # fmt: skip
        batcher.start()
        arrays = [np.full((1, 2), i, np.float32) for i in range(40)]
        results = await asyncio.gather(*(batcher.submit({"x": a}) for a in arrays))
        await batcher.stop()
        return arrays, results

    arrays, results = _run(scenario())
    for array, result in zip(arrays, results, strict=True):
        np.testing.assert_array_equal(result["y"], array * 2)
    assert max(b.rows for b in batches) == 4  # batches were formed, so buffers were reused
