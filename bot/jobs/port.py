"""The job queue port: what the bot asks of a queue, and what a queue needs around it.

`JobQueue` is all the rest of the bot uses; the composition root picks the backend (the
embedded `LocalQueue` or the procrastinate `ProcrastinateQueue`) and nothing else knows which
one runs. `JobEvents` is how a queue tells users what happened to their jobs (the notifier
implements it, through the outbox); `Generator` is what the embedded queue and the workers
need of the generation service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from generation.request import GenerationRequest
from generation.timing import CallTiming
from storage.records import ImageRecord, JobRecord


class GeneratedBatch(Protocol):
    """What the generator returns per request."""

    @property
    def images(self) -> list[bytes]:
        """PNG bytes, one per image."""
        ...

    @property
    def timing(self) -> CallTiming | None:
        """How long the call that made them took (None: not timed)."""
        ...

    @property
    def made(self) -> float:
        """When the pipeline call that made them returned (`time.monotonic()`)."""
        ...

    @property
    def encoded(self) -> float:
        """When their PNGs were encoded (`time.monotonic()`)."""
        ...

    @property
    def flagged(self) -> Sequence[float | None]:
        """Per image, the image check's score where it flagged it, else None (empty: none)."""
        ...

    @property
    def checked(self) -> float:
        """When the image check of their call ended (`time.monotonic()`; 0: no check)."""
        ...


class Generator(Protocol):
    """What running a job needs of the generation service."""

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Sequence[GeneratedBatch]:
        """Make images for compatible requests in one call; `progress` runs on the loop."""
        ...


class JobEvents(Protocol):
    """How a queue tells the owner of a job what happened to it."""

    async def job_started(self, job: JobRecord) -> None:
        """A job began running."""

    async def job_progress(self, job: JobRecord, done: int, total: int) -> None:
        """A decoder step finished."""

    async def job_done(self, job: JobRecord, images: list[ImageRecord]) -> None:
        """A job finished with its images stored. Several processes may hear one end: the
        events mark the job told as they store what they say (`Store.post_messages` with
        `tell_job`), so its owner hears it once."""

    async def job_failed(self, job: JobRecord, reason: str) -> None:
        """A job failed, its quota refunded; told once, as `job_done` is."""

    async def job_recovered(self, job: JobRecord, outcome: str) -> None:
        """After a crash: `requeued` (still waiting) or `retry` (it will run again)."""


class JobQueue(Protocol):
    """The queue interface the bot talks to, whichever backend runs the jobs."""

    @property
    def batches(self) -> bool:
        """Whether compatible jobs may run as one pipeline call."""
        ...

    async def start(self) -> None:
        """Take over the jobs the last run left (retry or fail them), then start."""

    async def stop(self) -> None:
        """Stop taking jobs; what runs here is parked for the next start."""

    async def submit(self, job: JobRecord) -> None:
        """Add a stored, queued job."""

    def expecting(self) -> AbstractContextManager[None]:
        """Say a job may be on its way (a command is being handled) while the block runs.

        A queue that batches may hold its next pipeline call briefly for such jobs, so
        requests that arrive together run together.
        """
        ...

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job (refunded), or stop a running one at its next step."""
        ...

    def position(self, job_id: int) -> int | None:
        """1-based place among waiting jobs in dispatch order; None when not waiting."""
        ...

    def eta(self, job_id: int) -> float | None:
        """Seconds until the job is likely done; None when unknown."""
        ...

    def waiting(self) -> list[JobRecord]:
        """Waiting jobs in dispatch order."""
        ...

    def running(self) -> list[JobRecord]:
        """Jobs running now."""
        ...

    def estimate(self, job: JobRecord) -> tuple[int, float | None]:
        """Position and seconds to done that `job`, stored but not submitted yet, will get."""
        ...

    async def wait_idle(self) -> None:
        """Wait until no job is queued or running and every owner was told."""
