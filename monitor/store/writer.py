"""The store's work off the event loop: one thread, many polls per transaction.

Polls hand their reads and their `record_poll` to a `PollWriter`; its thread runs them in
order, and the polls recorded back to back (all that queued up while the previous batch
was being written) share one transaction. A fetch never waits for a database write, and
a poll is answered only once its transaction is committed, so the guarantees of
`Store.record_poll` hold: a poll's entries are marked seen in the transaction that stores
its documents. When a batch cannot be committed, each of its polls is written again on
its own (`Store.record_polls`), so one poll's failure is that poll's alone.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from monitor.models import Document, StoredChange
from monitor.store.polls import PollRecord
from monitor.store.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 100  # polls per transaction
MAX_PENDING = 200  # jobs queued or running: a slow database slows polls, memory stays bounded


@dataclass
class _Job:
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | None  # None: nobody waits for it
    call: Callable[..., Any] | None = None  # a read (or any other store call), run alone
    args: tuple[Any, ...] = ()
    poll: tuple[str, list[Document], dict[str, Any]] | None = None  # a record_poll
    kwargs: dict[str, Any] = field(default_factory=dict)

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        loop, future = self.loop, self.future
        if loop is None or future is None:
            return

        def done() -> None:
            if future.cancelled():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        try:
            loop.call_soon_threadsafe(done)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


class PollWriter:
    """Runs one Store's calls in a thread of its own; see the module's docstring."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(MAX_PENDING)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()
        self._closed = False

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` run in the writer's thread, after the writes queued before."""
        return await self._submit(call=fn, args=args, kwargs=kwargs)  # type: ignore[no-any-return]

    async def record_poll(
        self, source_id: str, docs: list[Document], **kwargs: Any
    ) -> list[StoredChange]:
        """`Store.record_poll`, batched with the polls recorded at about the same time."""
        return await self._submit(poll=(source_id, docs, kwargs))  # type: ignore[no-any-return]

    def touch(self, record: PollRecord) -> None:
        """A poll answered 304: remembered in memory, written with others later (no wait)."""
        if self.store.touch(record) and not self._closed:
            self._jobs.put(_Job(None, None, call=self.store.flush))

    async def _submit(self, **job: Any) -> Any:
        if self._closed:
            raise RuntimeError("the store writer is closed")
        loop = asyncio.get_running_loop()
        async with self._room:
            future: asyncio.Future[Any] = loop.create_future()
            self._jobs.put(_Job(loop, future, **job))
            return await future

    async def aclose(self) -> None:
        """Finish the queued work, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    # -- the writer's thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch, stop = [job], False
            # Whatever queued up meanwhile joins the batch: no waiting for more.
            while len(batch) < self._max_batch:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._execute(batch)
            if stop:
                return

    def _execute(self, batch: list[_Job]) -> None:
        polls: list[_Job] = []
        for job in batch:
            if job.future is not None and job.future.cancelled():  # its poll was cancelled
                continue
            if job.poll is not None:
                polls.append(job)
                continue
            self._record(polls)  # a read sees the writes queued before it
            polls = []
            assert job.call is not None
            try:
                job.settle(job.call(*job.args, **job.kwargs))
            except Exception as err:  # noqa: BLE001 - handed to the caller, as if called there
                if job.future is None:
                    log.warning("store writer: %s failed: %s", _name(job.call), err)
                job.settle(error=err)
        self._record(polls)

    def _record(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        results = self.store.record_polls([job.poll for job in jobs if job.poll is not None])
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, Exception):
                job.settle(error=result)
            else:
                job.settle(result)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "a store call")
