"""Dynamic batching for the local backend: Triton's max batch size and max queue delay.

Requests queue per model version; one worker takes the first and every queued request whose
non-batch shapes match. When the batcher is idle (nothing else queued, no batch running) it
dispatches at once, so a lone request never waits out the queue delay; under load it waits
up to the delay for more.
Rows are copied into a preallocated batch buffer (one per instance, reused), run in a
thread (ONNX Runtime releases the GIL), and the result rows split back to each caller. A
batch of one request runs on the request's own arrays, with no copy at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["Batch", "DynamicBatcher"]

Arrays = dict[str, np.ndarray[Any, Any]]
RunFn = Callable[[Arrays], Arrays]


@dataclasses.dataclass
class _Pending:
    inputs: Arrays
    rows: int
    future: asyncio.Future[Arrays]

    def key(self) -> tuple[tuple[str, tuple[int, ...], str], ...]:
        return tuple((n, a.shape[1:], a.dtype.str) for n, a in sorted(self.inputs.items()))


@dataclasses.dataclass(frozen=True)
class Batch:
    """What one run saw (reported to the batch-size metric)."""

    requests: int
    rows: int


class DynamicBatcher:
    """Queue requests and run them in batches of up to ``max_batch_size`` rows."""

    def __init__(
        self,
        run: RunFn,
        *,
        max_batch_size: int,
        max_queue_delay_s: float,
        instances: int = 1,
        on_batch: Callable[[Batch], None] = lambda batch: None,
    ) -> None:
        self._run = run
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._held: _Pending | None = None
        self._arrived = asyncio.Event()
        # like Triton's instance_group count: batches that may run at the same time
        self._slots = asyncio.Semaphore(max(1, instances))
        self._running: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        # reusable batch buffers by input layout: at most one per running instance
        self._buffers: dict[tuple[Any, ...], list[Arrays]] = {}

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Let queued requests finish, then end the worker."""
        while self._held is not None or not self._queue.empty():
            await asyncio.sleep(0.005)
        if self._running:
            await asyncio.wait(set(self._running))
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def submit(self, inputs: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
        arrays = dict(inputs)
        rows = int(next(iter(arrays.values())).shape[0])
        future: asyncio.Future[Arrays] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(arrays, rows, future))
        self._arrived.set()
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # wait for a free instance first: requests keep queueing meanwhile, so the
            # next batch is as full as the backlog allows
            await self._slots.acquire()
            batch = await self._collect()
            task = loop.create_task(self._execute(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()

    async def _collect(self) -> list[_Pending]:
        first = self._held or await self._queue.get()
        self._held = None
        batch, rows = [first], first.rows
        # idle (nothing queued, no batch running): dispatch now instead of waiting out the
        # queue delay alone; under load, wait for more so batches fill
        alone = self._queue.empty() and not self._running
        deadline = asyncio.get_running_loop().time() + (0 if alone else self.max_queue_delay_s)
        while rows < self.max_batch_size:
            item = await self._next(deadline)
            if item is None:
                break
            if item.key() != first.key() or rows + item.rows > self.max_batch_size:
                self._held = item  # starts the next batch
                break
            batch.append(item)
            rows += item.rows
        return batch

    async def _next(self, deadline: float) -> _Pending | None:
        # Waiting on an Event, not on queue.get(), so a timeout can never drop a request.
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(asyncio.QueueEmpty):
                return self._queue.get_nowait()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return None

    async def _execute(self, batch: list[_Pending]) -> None:
        key = batch[0].key()
        buffer = None if len(batch) == 1 else self._buffer(key, batch[0])
        try:
            joined = batch[0].inputs if buffer is None else _fill(buffer, batch)
            outputs = await asyncio.to_thread(self._run, joined)
        except Exception as exc:  # every caller gets the failure; the worker keeps going
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        finally:
            if buffer is not None:
                self._buffers.setdefault(key, []).append(buffer)
        self._on_batch(Batch(len(batch), sum(p.rows for p in batch)))
        bounds = np.cumsum([p.rows for p in batch])[:-1]
        parts = {name: np.split(array, bounds) for name, array in outputs.items()}
        for index, pending in enumerate(batch):
            if not pending.future.done():
                pending.future.set_result({name: parts[name][index] for name in parts})

    def _buffer(self, key: tuple[Any, ...], example: _Pending) -> Arrays:
        free = self._buffers.get(key)
        if free:
            return free.pop()
        rows = self.max_batch_size
        return {n: np.empty((rows, *a.shape[1:]), a.dtype) for n, a in example.inputs.items()}


def _fill(buffer: Arrays, batch: list[_Pending]) -> Arrays:
    """Copy each request's rows into the batch buffer; views of the rows in use."""
    start = 0
    for pending in batch:
        end = start + pending.rows
        for name, array in pending.inputs.items():
            buffer[name][start:end] = array
        start = end
    return {name: array[:start] for name, array in buffer.items()}
