"""The job queue: fair (round robin across users), persistent (the jobs table is the truth).

`JobQueue` is the interface the bot uses; `LocalQueue` runs jobs in this process on the
generation service. A distributed engine can implement the same interface.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.i18n.catalogue import reason_of
from bot.jobs import metrics
from generation.request import GenerationCancelled, GenerationRequest, RequestError
from storage.records import ImageRecord, JobRecord, JobStatus
from storage.store import Store

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MAX_ATTEMPTS = 2  # the first run and one retry after a crash


class GeneratedBatch(Protocol):
    """What the generator returns per request."""

    @property
    def images(self) -> list[bytes]:
        """PNG bytes, one per image."""
        ...


class Generator(Protocol):
    """What the queue needs of the generation service."""

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Sequence[GeneratedBatch]:
        """Make images for compatible requests in one call."""
        ...


class JobEvents(Protocol):
    """How the queue tells the bot what happened to a job."""

    async def job_started(self, job: JobRecord) -> None:
        """A job began running."""

    async def job_progress(self, job: JobRecord, done: int, total: int) -> None:
        """A decoder step finished."""

    async def job_done(self, job: JobRecord, images: list[ImageRecord]) -> None:
        """A job finished with its images stored."""

    async def job_failed(self, job: JobRecord, reason: str) -> None:
        """A job failed (its quota already refunded)."""

    async def job_recovered(self, job: JobRecord, outcome: str) -> None:
        """After a restart: `requeued` (still waiting) or `retry` (will run again)."""

    async def tell_untold(self, jobs: list[JobRecord]) -> None:
        """Jobs that ended with their owner never told (a crash between the two)."""


class JobQueue(Protocol):
    """The queue interface the bot talks to."""

    async def start(self) -> None:
        """Recover jobs left by the last run and start dispatching."""

    async def stop(self) -> None:
        """Stop dispatching; running jobs finish or are parked for the next start."""

    async def submit(self, job: JobRecord) -> None:
        """Add a stored, queued job."""

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job, or stop a running one at its next step."""

    def position(self, job_id: int) -> int | None:
        """1-based place among waiting jobs in dispatch order; None when not waiting."""

    def eta(self, job_id: int) -> float | None:
        """Seconds until the job is likely done; None when unknown."""

    def waiting(self) -> list[JobRecord]:
        """Waiting jobs in dispatch order."""

    def running(self) -> list[JobRecord]:
        """Jobs running now."""

    def estimate(self, user_id: int) -> tuple[int, float | None]:
        """Position and seconds to done that a new job of `user_id` would get."""


BatchKey = Callable[[GenerationRequest], object]


def _never_batch(request: GenerationRequest) -> object:
    return id(request)


@dataclass(slots=True)
class _Running:
    job: JobRecord
    cancel: threading.Event


class LocalQueue:
    """Round robin across users, one dispatcher per device, compatible jobs batched."""

    def __init__(
        self,
        store: Store,
        generator: Generator,
        events: JobEvents,
        *,
        concurrency: int = 1,
        max_batch: int = 1,
        batch_key: BatchKey = _never_batch,
    ) -> None:
        self._store = store
        self._generator = generator
        self._events = events
        self._concurrency = max(1, concurrency)
        self._max_batch = max(1, max_batch)
        self._batch_key = batch_key
        self._waiting: dict[int, deque[JobRecord]] = {}
        self._turns: deque[int] = deque()
        self._running: dict[int, _Running] = {}
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._run_seconds: deque[float] = deque([10.0], maxlen=20)
        self._pending: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._busy = 0
        self._last_served: int | None = None

    # -- interface ---------------------------------------------------------------------
    async def start(self) -> None:
        """Recover what the last process left, then start the dispatchers."""
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
        """Add a stored, queued job at the back of its owner's line."""
        self._enqueue(job)

    async def cancel(self, job_id: int) -> bool:
        """Cancel a waiting job (refunded), or stop a running one at its next step."""
        running = self._running.get(job_id)
        if running is not None:
            running.cancel.set()
            return True
        for user_id, jobs in self._waiting.items():
            for job in jobs:
                if job.id == job_id:
                    jobs.remove(job)
                    self._forget_if_empty(user_id)
                    return await self._store.cancel_job(job_id)
        return await self._store.cancel_job(job_id)

    def waiting(self) -> list[JobRecord]:
        """Waiting jobs in the order round robin will run them."""
        return _round_robin([list(self._waiting[user]) for user in self._turns])

    def running(self) -> list[JobRecord]:
        """Jobs running now."""
        return [entry.job for entry in self._running.values()]

    async def wait_idle(self) -> None:
        """Wait until nothing is waiting or running (and progress messages are out)."""
        while self._turns or self._busy:
            self._changed.clear()
            await self._changed.wait()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def estimate(self, user_id: int) -> tuple[int, float | None]:
        """Position and seconds to done that a new job of `user_id` would get."""
        turns = deque(self._turns)
        if user_id not in turns:
            self._place(turns, user_id)
        lines: list[list[JobRecord | None]] = [
            [*self._waiting.get(user, ()), *([None] if user == user_id else [])] for user in turns
        ]
        position = _round_robin(lines).index(None) + 1
        return position, self._seconds_for(position)

    def _seconds_for(self, position: int) -> float:
        average = sum(self._run_seconds) / len(self._run_seconds)
        ahead = position - 1 + len(self._running)
        return average * (ahead // self._concurrency + 1)

    def position(self, job_id: int) -> int | None:
        """1-based place in dispatch order."""
        for index, job in enumerate(self.waiting(), start=1):
            if job.id == job_id:
                return index
        return None

    def eta(self, job_id: int) -> float | None:
        """Seconds until done, from the recent average run time."""
        if job_id in self._running:
            return sum(self._run_seconds) / len(self._run_seconds)
        position = self.position(job_id)
        return None if position is None else self._seconds_for(position)

    # -- internals ---------------------------------------------------------------------
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
        return self._take()

    async def _dispatch(self) -> None:
        while True:
            batch = await self._next_batch()
            self._busy += 1
            try:
                started = []
                for job in batch:
                    if await self._store.mark_running(job.id):
                        fresh = await self._store.get_job(job.id)
                        started.append(fresh or job)
                if started:
                    await self._run(started)
            finally:
                self._busy -= 1
                self._changed.set()

    async def _run(self, jobs: list[JobRecord]) -> None:
        cancel = threading.Event()
        for job in jobs:
            self._running[job.id] = _Running(job, cancel)
            metrics.job_started(job)
            await self._tell(self._events.job_started(job))
        metrics.RUNNING.set(len(self._running))
        metrics.QUEUE_DEPTH.set(len(self.waiting()))
        loop = asyncio.get_running_loop()
        began = time.monotonic()

        def progress(done: int, total: int) -> None:
            for job in jobs:
                task = loop.create_task(self._tell(self._events.job_progress(job, done, total)))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

        try:
            results = await self._generator.generate_batch(
                [job.request for job in jobs], progress, cancel
            )
        except asyncio.CancelledError:
            cancel.set()
            for job in jobs:
                await self._store.requeue(job.id)
            raise
        except Exception as error:  # every failure is reported, none is lost
            await self._failed(jobs, error, cancelled=cancel.is_set())
        else:
            seconds = time.monotonic() - began
            self._run_seconds.append(seconds / max(len(jobs), 1))
            for job, result in zip(jobs, results, strict=True):
                metrics.job_done(job, seconds, len(result.images))
                await self._finished(job, result)
        finally:
            for job in jobs:
                self._running.pop(job.id, None)
            metrics.RUNNING.set(len(self._running))

    async def _finished(self, job: JobRecord, result: GeneratedBatch) -> None:
        from generation.images import read_recipe

        images = [(png, read_recipe(png)) for png in result.images]
        records = await self._store.mark_done(job.id, images)
        await self._tell(self._events.job_done(job, records))

    async def _failed(self, jobs: list[JobRecord], error: Exception, *, cancelled: bool) -> None:
        if cancelled or isinstance(error, GenerationCancelled):
            reason = "cancelled"
        elif isinstance(error, RequestError):
            reason = reason_of(error)
        else:
            log.error("generation failed for jobs %s", [j.id for j in jobs], exc_info=error)
            reason = "internal"
        for job in jobs:
            metrics.job_failed(reason)
            if await self._store.mark_failed(job.id, reason):
                await self._tell(self._events.job_failed(job, reason))

    async def _tell(self, event: Awaitable[None]) -> None:
        """Deliver an event; a failing adapter never stops the queue."""
        try:
            await event
        except Exception:
            log.exception("could not tell a user about their job")

    async def _recover(self) -> None:
        """Requeue what a crash left: running jobs get one retry, queued jobs wait again."""
        for job in await self._store.jobs((JobStatus.RUNNING,)):
            if job.attempts < MAX_ATTEMPTS and await self._store.requeue(job.id):
                self._enqueue(job)
                await self._tell(self._events.job_recovered(job, "retry"))
            elif await self._store.mark_failed(job.id, "interrupted"):
                await self._tell(self._events.job_failed(job, "interrupted"))
        for job in await self._store.jobs((JobStatus.QUEUED,)):
            if all(job.id != waiting.id for waiting in self.waiting()):
                self._enqueue(job)
                await self._tell(self._events.job_recovered(job, "requeued"))
        await self._tell(self._events.tell_untold(await self._store.untold_jobs()))


def _round_robin(lines: list[list[_T]]) -> list[_T]:
    """One item from each line in turn, until every line is empty."""
    order: list[_T] = []
    depth = 0
    while any(depth < len(line) for line in lines):
        order.extend(line[depth] for line in lines if depth < len(line))
        depth += 1
    return order
