"""The embedded queue: jobs run in this process, fairly (round robin across users).

The jobs table is the truth; `LocalQueue` only decides when each job runs and on which
device, and batches compatible jobs. What happens to a job is `bot.jobs.lifecycle`.

Batching: when a device is free, the next job in round robin runs together with the waiting
jobs compatible with it (same model, task, size, steps, guidance...: everything but prompt,
negative prompt, seed and picture), up to `max_batch`. Requests that arrive together are
gathered first: while other commands are still being handled (`expecting`) and have not
submitted their job yet, the device waits for them, at most `batch_window` seconds. A lone
request never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from bot.jobs import lifecycle, metrics
from bot.jobs.eta import Estimator
from bot.jobs.lifecycle import Recovery, Teller
from bot.jobs.port import Generator, JobEvents
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest
from storage.records import JobRecord, JobStatus
from storage.store import Store

log = logging.getLogger(__name__)

_T = TypeVar("_T")

BatchKey = Callable[[GenerationRequest], object]


def _never_batch(request: GenerationRequest) -> object:
    return id(request)


@dataclass(slots=True)
class _Expected:
    """A command being handled that may still submit a job."""

    arrived: bool = False


_expected: ContextVar[_Expected | None] = ContextVar("kbot_expected_job", default=None)


class _Batch:
    """Jobs running as one call, and which of them were cancelled meanwhile.

    A cancelled job's images are dropped when the call ends; the call itself stops at its
    next step once every job in it was cancelled (one owner's /cancel stops no one else's).
    """

    def __init__(self, jobs: list[JobRecord]) -> None:
        self.jobs = jobs
        self.ids = {job.id for job in jobs}
        self.withdrawn: set[int] = set()
        self.stop = threading.Event()
        self.began = time.monotonic()

    def withdraw(self, job_id: int) -> None:
        self.withdrawn.add(job_id)
        if self.withdrawn >= self.ids:
            self.stop.set()


@dataclass(slots=True)
class _Running:
    job: JobRecord
    batch: _Batch


class LocalQueue:
    """Round robin across users, one dispatcher per device, compatible jobs batched.

    Waiting times are predicted from the speeds measured for `families` (`bot.jobs.eta`) on
    the device the jobs run on: the one `device` names once it knows (the engine is built), or
    the one that timed the last job here.
    """

    def __init__(
        self,
        store: Store,
        generator: Generator,
        events: JobEvents,
        *,
        platforms: Container[str] | None = None,
        concurrency: int = 1,
        max_batch: int = 1,
        batch_key: BatchKey = _never_batch,
        batch_window: float = 0.25,
        families: Families = DEFAULT_FAMILIES,
        device: Callable[[], str | None] | None = None,
    ) -> None:
        self._store = store
        self._device = device
        self._generator = generator
        self._teller = Teller(store, events, platforms)
        self._estimator = Estimator(families)
        self._concurrency = max(1, concurrency)
        self._max_batch = max(1, max_batch)
        self._batch_key = batch_key
        self._batch_window = batch_window
        self._arriving = 0
        self._waiting: dict[int, deque[JobRecord]] = {}
        self._turns: deque[int] = deque()
        self._running: dict[int, _Running] = {}
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._busy = 0
        self._last_served: int | None = None

    # -- interface ---------------------------------------------------------------------
    @property
    def batches(self) -> bool:
        """Whether compatible jobs run as one pipeline call (`max_batch` over 1)."""
        return self._max_batch > 1

    async def start(self) -> None:
        """Take over what the last process left, then start the dispatchers."""
        self._estimator.learn(await self._store.speeds())
        await self._recover()
        self._tasks = [
            asyncio.create_task(self._dispatch(), name=f"kbot-dispatch-{n}")
            for n in range(self._concurrency)
        ]

    async def stop(self) -> None:
        """Stop taking jobs; a running job is cancelled and parked as queued for next start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def submit(self, job: JobRecord) -> None:
        """Add a stored, queued job at the back of its owner's line (a command handled within
        `expecting` is then no longer waited for)."""
        self._enqueue(job)
        expected = _expected.get()
        if expected is not None:
            self._arrived(expected)

    @contextmanager
    def expecting(self) -> Iterator[None]:
        """A command is being handled: a batch about to start may wait for its job."""
        expected = _Expected()
        token = _expected.set(expected)
        self._arriving += 1
        try:
            yield
        finally:
            _expected.reset(token)
            self._arrived(expected)

    def _arrived(self, expected: _Expected) -> None:
        if not expected.arrived:
            expected.arrived = True
            self._arriving -= 1
            self._wakeup.set()

    async def cancel(self, job_id: int) -> bool:
        """Cancel a waiting job (refunded), or stop a running one at its next step."""
        running = self._running.get(job_id)
        if running is not None:
            running.batch.withdraw(job_id)
            return True
        for user_id, jobs in self._waiting.items():
            for job in jobs:
                if job.id == job_id:
                    jobs.remove(job)
                    self._forget_if_empty(user_id)
                    return await lifecycle.cancel(self._store, job_id)
        return await lifecycle.cancel(self._store, job_id)

    def waiting(self) -> list[JobRecord]:
        """Waiting jobs in the order round robin will run them."""
        return _round_robin([list(self._waiting[user]) for user in self._turns])

    def running(self) -> list[JobRecord]:
        """Jobs running now."""
        return [entry.job for entry in self._running.values()]

    async def wait_idle(self) -> None:
        """Wait until nothing is waiting or running (and every owner was told)."""
        while self._turns or self._busy:
            self._changed.clear()
            await self._changed.wait()

    def estimate(self, job: JobRecord) -> tuple[int, float | None]:
        """Position and seconds to done that `job`, stored but not submitted yet, will get."""
        self._know_device()
        turns = deque(self._turns)
        if job.user_id not in turns:
            self._place(turns, job.user_id)
        lines: list[list[JobRecord | None]] = [
            [*self._waiting.get(user, ()), *([None] if user == job.user_id else [])]
            for user in turns
        ]
        order = _round_robin(lines)
        position = order.index(None) + 1
        ahead = [waiting for waiting in order[: position - 1] if waiting is not None]
        return position, self._until_done(job, ahead)

    def position(self, job_id: int) -> int | None:
        """1-based place in dispatch order."""
        for index, job in enumerate(self.waiting(), start=1):
            if job.id == job_id:
                return index
        return None

    def eta(self, job_id: int) -> float | None:
        """Seconds until done, from the speeds measured for the jobs running and ahead."""
        self._know_device()
        running = self._running.get(job_id)
        if running is not None:
            return self._left(running.batch)
        waiting = self.waiting()
        for index, job in enumerate(waiting):
            if job.id == job_id:
                return self._until_done(job, waiting[:index])
        return None

    # -- internals ---------------------------------------------------------------------
    def _know_device(self) -> None:
        """Tell the estimator the device jobs run on, once the engine says."""
        if self._estimator.device is None and self._device is not None:
            self._estimator.device = self._device()

    def _left(self, batch: _Batch) -> float:
        """Seconds the call of `batch` will likely run on."""
        requests = [job.request for job in batch.jobs]
        return self._estimator.left(requests, time.monotonic() - batch.began)

    def _until_done(self, job: JobRecord, ahead: list[JobRecord]) -> float:
        batches = {id(entry.batch): entry.batch for entry in self._running.values()}
        busy = [self._left(batch) for batch in batches.values()]
        requests = [waiting.request for waiting in ahead]
        return self._estimator.until_done(job.request, requests, busy, self._concurrency)

    def _place(self, turns: deque[int], user_id: int) -> None:
        """A user with nothing waiting joins this round, before whoever was served last."""
        if turns and turns[-1] == self._last_served:
            turns.insert(len(turns) - 1, user_id)
        else:
            turns.append(user_id)

    def _enqueue(self, job: JobRecord) -> None:
        line = self._waiting.setdefault(job.user_id, deque())
        if job.user_id not in self._turns:
            self._place(self._turns, job.user_id)
        line.append(job)
        metrics.QUEUE_DEPTH.set(len(self.waiting()))
        self._wakeup.set()

    def _forget_if_empty(self, user_id: int) -> None:
        if not self._waiting.get(user_id):
            self._waiting.pop(user_id, None)
            if user_id in self._turns:
                self._turns.remove(user_id)

    def _take(self) -> list[JobRecord]:
        """Pop the next job in round robin, plus compatible jobs for one batch."""
        user_id = self._turns.popleft()
        first = self._waiting[user_id].popleft()
        self._turns.append(user_id)
        self._last_served = user_id
        self._forget_if_empty(user_id)
        batch = [first]
        key = self._batch_key(first.request)
        for job in self.waiting():
            if len(batch) >= self._max_batch:
                break
            if self._batch_key(job.request) == key:
                self._waiting[job.user_id].remove(job)
                self._forget_if_empty(job.user_id)
                batch.append(job)
        return batch

    async def _next_batch(self) -> list[JobRecord]:
        while not self._turns:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._max_batch > 1:
            await self._gather()
        return self._take()

    async def _gather(self) -> None:
        """Wait (at most `batch_window`) while jobs are still arriving and there is room."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._batch_window
        while self._arriving and len(self.waiting()) < self._max_batch:
            left = deadline - loop.time()
            if left <= 0:
                return
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), left)

    async def _dispatch(self) -> None:
        while True:
            batch = await self._next_batch()
            self._busy += 1
            running = _Batch(batch)
            for job in batch:
                self._running[job.id] = _Running(job, running)
            metrics.QUEUE_DEPTH.set(len(self.waiting()))
            try:
                ran = await lifecycle.run(
                    self._store,
                    batch,
                    self._generator,
                    self._teller,
                    running.stop,
                    running.withdrawn,
                )
                if ran.speed is not None:
                    self._estimator.device = ran.speed.device
                    self._estimator.learn([ran.speed])
            except Exception:  # the database, most likely: the next batch may fare better
                log.exception("could not run jobs %s", [job.id for job in batch])
            finally:
                for job in batch:
                    self._running.pop(job.id, None)
                self._busy -= 1
                self._changed.set()

    async def _recover(self) -> None:
        """Running jobs a crash left get one retry; queued jobs wait again; untold are told."""
        for job in await self._store.jobs((JobStatus.RUNNING,)):
            if await lifecycle.recover(self._store, job, self._teller) is Recovery.RETRY:
                self._enqueue(job)
        for job in await self._store.jobs((JobStatus.QUEUED,)):
            if all(job.id != waiting.id for waiting in self.waiting()):
                self._enqueue(job)
                await self._teller.recovered(job, Recovery.REQUEUED)
        await self._teller.tell_untold()


def _round_robin(lines: list[list[_T]]) -> list[_T]:
    """One item from each line in turn, until every line is empty."""
    order: list[_T] = []
    depth = 0
    while any(depth < len(line) for line in lines):
        order.extend(line[depth] for line in lines if depth < len(line))
        depth += 1
    return order
