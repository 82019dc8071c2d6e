"""``SynthesisPool``: syntheses on a few worker threads behind a bounded queue.

At most ``workers`` jobs run at once; at most ``max_queue`` more wait for a worker. A request
that would exceed that is refused at once with ``Busy`` (the server answers 503 with
Retry-After) instead of piling up. A slot is held from admission until the job has finished on
its thread, or was cancelled before it started, so the count is what the workers really owe.

``run`` awaits one result; ``stream`` bridges a job that yields items (audio sentence by
sentence) to an async iterator, with back-pressure: the worker makes at most ``buffer`` items
ahead of the reader, and gives up when the reader is gone or has read nothing for
``stall_seconds``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every worker is busy and the queue is full; ``retry_after`` seconds is a fair wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy: {retry_after} s is a fair wait before retrying")
        self.retry_after = retry_after


class _Gone(Exception):
    """The reader of a stream went away or stalled: stop making its items."""


class SynthesisPool:
    """Worker threads plus a bounded queue; see the module notes."""

    def __init__(self, workers: int = 1, max_queue: int = 8, buffer: int = 4,
                 stall_seconds: float = 60.0) -> None:
        self.workers = workers
        self.max_queue = max_queue
        self.buffer = buffer
        self.stall_seconds = stall_seconds
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="voxclone-synthesis")
        self._lock = threading.Lock()
        self._admitted = 0
        self._mean_seconds = 2.0  # running mean of job time, for Retry-After

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        with self._lock:
            return self._admitted

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.workers + self.max_queue:
                rounds = math.ceil((self._admitted + 1) / self.workers)
                raise Busy(max(1, math.ceil(rounds * self._mean_seconds)))
            self._admitted += 1

    def _submit(self, job: Callable[[], T]) -> Future:
        """Run ``job`` on a worker; its slot is released when it ends or is cancelled unstarted."""
        started = time.perf_counter()

        def release(future: Future) -> None:
            with self._lock:
                self._admitted -= 1
                if not future.cancelled():
                    took = time.perf_counter() - started
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * took

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shut down
            with self._lock:
                self._admitted -= 1
            raise
        future.add_done_callback(release)
        return future

    async def run(self, job: Callable[[], T]) -> T:
        """``job()`` on a worker thread; raises ``Busy`` when the queue is full."""
        self._admit()
        return await asyncio.wrap_future(self._submit(job))

    async def stream(self, items: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The items of the iterator ``items()`` makes on a worker thread, as they come.
        Raises ``Busy`` at the first ``__anext__`` when the queue is full, and whatever the
        job raises where it raises it."""
        self._admit()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        slots = threading.Semaphore(self.buffer)
        gone = threading.Event()

        def post(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the event loop is closed: nobody is listening
                gone.set()

        def wait_for_slot() -> None:
            waited = 0.0
            while not slots.acquire(timeout=0.25):
                waited += 0.25
                if gone.is_set() or waited >= self.stall_seconds:
                    raise _Gone
            if gone.is_set():
                raise _Gone

        def job() -> None:
            made = None
            try:
                made = items()
                for item in made:
                    wait_for_slot()
                    post("item", item)
                post("end", None)
            except _Gone:
                pass
            except BaseException as exc:  # handed to the reader, who raises it
                post("error", exc)
            finally:
                getattr(made, "close", lambda: None)()

        future = self._submit(job)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                slots.release()
                yield value
        finally:
            gone.set()
            future.cancel()  # a job still waiting for a worker never starts

    def shutdown(self) -> None:
        """Stop taking jobs; queued ones are dropped, running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
