"""One job lifecycle, whichever backend runs the job.

A job moves through these states; each arrow is one function here, and the store makes every
move atomic (a move from the wrong state changes nothing and says so):

    queued --start--> running --finish--> done ----+
     | ^                | |                        +--tell (once)--> told
     | +--park, retry---+ +--fail-------> failed --+
     +--cancel--> cancelled   (a queued job can fail too)

- `start`, `finish`, `fail`, `cancel`, `park` are the moves; `fail` and `cancel` refund the
  job's cost.
- `recover`: a job found running with nobody running it (its process died) runs once more, or,
  when it already had `MAX_ATTEMPTS`, fails as "interrupted" with a refund.
- `classify`: the reason a failed job is stored and told with.
- `run`: start a batch, generate, record how it ended and how fast it ran (the speeds
  `bot.jobs.eta` predicts from); a `Signals` hears every move.
- `Teller`: the `Signals` that reach owners through `JobEvents`; each job's end is told once.

The backends decide where and when a job runs (`local` in this process; `distributed` hands
jobs to `worker` processes); this module decides what happens to it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Awaitable, Container, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.i18n.catalogue import reason_of
from bot.jobs import metrics, spans
from bot.jobs.port import Generator, JobEvents
from generation.request import GenerationCancelled, RequestError
from generation.timing import CallTiming
from storage.records import TOLD, JobRecord, JobStatus, SpeedRecord
from storage.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # the first run and one retry after a crash

# Failure reasons of our own (a refused request stores `reason_of` its error).
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
INTERNAL = "internal"


class Recovery(enum.StrEnum):
    """What taking over a job that an earlier process left meant for it."""

    RETRY = "retry"  # it was running: it runs once more
    REQUEUED = "requeued"  # it was waiting: it waits again
    FAILED = "failed"  # it was running for the last time: failed, refunded
    GONE = "gone"  # another process ended it meanwhile


class Signals(Protocol):
    """Who hears a job move: its owner (`Teller`), or every frontend (from a worker)."""

    async def started(self, job: JobRecord) -> None:
        """The job is running (`job` as stored, its attempts counted)."""

    async def progress(self, job: JobRecord, done: int, total: int) -> None:
        """A decoder step finished."""

    async def recovered(self, job: JobRecord, outcome: Recovery) -> None:
        """An earlier process left the job; `outcome` is `RETRY` or `REQUEUED`."""

    async def ended(self, job: JobRecord) -> None:
        """The job is done or failed (`job` as stored)."""


def classify(error: BaseException, *, cancelled: bool = False) -> str:
    """The reason a job that raised `error` fails with."""
    if cancelled or isinstance(error, GenerationCancelled):
        return CANCELLED
    if isinstance(error, RequestError):
        return reason_of(error)
    return INTERNAL


# -- the moves ------------------------------------------------------------------------------
async def start(store: Store, jobs: Sequence[JobRecord]) -> list[JobRecord]:
    """queued -> running (one more attempt each, in one go); the jobs that were queued, as
    stored now."""
    started = await store.start_jobs([job.id for job in jobs])
    for job in started:
        spans.mark(job.id, "started")
        metrics.job_started(job)
    return started


async def finish(
    store: Store,
    job: JobRecord,
    images: Sequence[bytes],
    seconds: float,
    flagged: Sequence[float | None] = (),
) -> None:
    """running -> done: store the PNGs with the recipes they carry (those the image check
    flagged, as flagged)."""
    from generation.images import read_recipe

    pairs = [(png, read_recipe(png)) for png in images]
    records = await store.mark_done(job.id, pairs, flagged)
    spans.mark(job.id, "recorded")
    metrics.job_done(job, seconds, len(records))


async def fail(store: Store, job: JobRecord, reason: str) -> bool:
    """queued or running -> failed, refunded; False if the job had already ended."""
    if not await store.mark_failed(job.id, reason):
        return False
    metrics.job_failed(reason)
    return True


async def cancel(store: Store, job_id: int) -> bool:
    """queued -> cancelled, refunded; False if the job was not queued."""
    return await store.cancel_job(job_id)


async def park(store: Store, job: JobRecord) -> bool:
    """running -> queued, at a clean stop: it runs again at the next start."""
    return await store.requeue(job.id)


async def recover(store: Store, job: JobRecord, signals: Signals) -> Recovery:
    """Take over a job found running whose process died: retry it once, then fail it."""
    if job.attempts < MAX_ATTEMPTS:
        if not await store.requeue(job.id):
            return Recovery.GONE
        await signals.recovered(job, Recovery.RETRY)
        return Recovery.RETRY
    if await fail(store, job, INTERRUPTED):
        await signals.ended(await store.get_job(job.id) or job)
        return Recovery.FAILED
    return Recovery.GONE


@dataclass(frozen=True, slots=True)
class Ran:
    """How a run ended: the jobs as stored, and the speed its call added to when images
    were made (None when it ran too few steps to time, or its speed could not be stored)."""

    ended: list[JobRecord]
    speed: SpeedRecord | None = None


async def measure(store: Store, job: JobRecord, timing: CallTiming | None) -> SpeedRecord | None:
    """Add the timing of the call that ran `job` (and its batch) to the measured speeds."""
    if timing is None:
        return None
    request = job.request
    try:
        return await store.record_speed(
            request.model,
            str(request.task),
            timing.device,
            request.width * request.height,
            timing.step_seconds / timing.images,
            timing.other_seconds / timing.images,
        )
    except Exception:  # an estimate is not worth a job: it was made, and is told
        log.exception("could not store how fast job #%s ran", job.id)
        return None


async def run(
    store: Store,
    jobs: Sequence[JobRecord],
    generator: Generator,
    signals: Signals,
    cancel: threading.Event,
    withdrawn: Container[int] = (),
) -> Ran:
    """Start queued `jobs`, make their images as one batch, and record how each ended.

    Setting `cancel` stops the batch at its next step (failed as cancelled, refunded). A job
    whose id is in `withdrawn` when the batch ends (cancelled while others of its batch ran
    on) fails as cancelled too, its images dropped. If the task is cancelled (the process
    stops), the jobs are parked as queued.
    """
    started = await start(store, jobs)
    if not started:
        return Ran([])
    loop = asyncio.get_running_loop()
    steps: set[asyncio.Task[None]] = set()

    def hear(event: Coroutine[Any, Any, None]) -> None:
        """Signal in the background: the images do not wait for the owner to be told."""
        task = loop.create_task(event)
        steps.add(task)
        task.add_done_callback(steps.discard)

    def on_step(done: int, total: int) -> None:
        for job in started:
            hear(signals.progress(job, done, total))

    for job in started:
        hear(signals.started(job))

    timing: CallTiming | None = None
    metrics.RUNNING.inc(len(started))
    began = time.monotonic()
    try:
        made = await generator.generate_batch([job.request for job in started], on_step, cancel)
        elapsed = time.monotonic() - began
        for job, result in zip(started, made, strict=True):
            spans.mark(job.id, "made", result.made)
            spans.mark(job.id, "checked", result.checked or result.made)
            spans.mark(job.id, "encoded", result.encoded)
            if job.id in withdrawn:
                await fail(store, job, CANCELLED)
            else:
                await finish(store, job, result.images, elapsed, result.flagged)
        timing = made[0].timing if made else None
    except asyncio.CancelledError:
        cancel.set()
        for job in started:
            await park(store, job)
        raise
    except Exception as error:  # every failure is recorded and told, none is lost
        reason = classify(error, cancelled=cancel.is_set())
        if reason == INTERNAL:
            log.error("jobs %s failed", [job.id for job in started], exc_info=error)
        for job in started:
            await fail(store, job, reason)
    finally:
        metrics.RUNNING.dec(len(started))
    await asyncio.gather(*steps, return_exceptions=True)  # the start and steps before the end
    speed = await measure(store, started[0], timing)  # before anyone hears it ended
    stored = {job.id: job for job in await store.get_jobs([job.id for job in started])}
    ended = [stored.get(job.id, job) for job in started]
    for job in ended:
        await signals.ended(job)
    return Ran(ended, speed)


# -- telling the owner ------------------------------------------------------------------------
class Teller:
    """`Signals` for the owners of jobs, through `JobEvents`; each end is told exactly once.

    Ends come from runs in this process, from workers' notifications (perhaps twice), and
    from the look for jobs that ended with nobody told (a crash in between); the events mark
    the job told in the transaction that stores its messages (see `JobEvents.job_done`), so
    one of them, in one process, tells the owner. A process tells only the owners on
    `platforms` (None: all), since only a process with that platform's adapter can.
    """

    def __init__(
        self, store: Store, events: JobEvents, platforms: Container[str] | None = None
    ) -> None:
        self._store = store
        self._events = events
        self._platforms = platforms

    def serves(self, job: JobRecord) -> bool:
        """Whether this process can talk to the owner of `job`."""
        return self._platforms is None or job.destination.get("platform") in self._platforms

    async def started(self, job: JobRecord) -> None:
        """Tell the owner their job is running."""
        await self._deliver(self._events.job_started(job))

    async def progress(self, job: JobRecord, done: int, total: int) -> None:
        """Show the owner a step."""
        await self._deliver(self._events.job_progress(job, done, total))

    async def recovered(self, job: JobRecord, outcome: Recovery) -> None:
        """Tell the owner what a restart meant for their job."""
        await self._deliver(self._events.job_recovered(job, outcome.value))

    async def ended(self, job: JobRecord) -> None:
        """Tell the owner how `job` (as stored) ended, unless someone did already."""
        if job.status in TOLD and self.serves(job):
            await self._deliver(self._tell_end(job))

    async def tell_untold(self) -> None:
        """Tell the owners of jobs that ended while nobody could tell them."""
        for job in await self._store.untold_jobs():
            await self.ended(job)

    async def _tell_end(self, job: JobRecord) -> None:
        if job.status is JobStatus.DONE:
            found = [await self._store.get_image(image_id) for image_id in job.image_ids]
            images = [image for image in found if image is not None]
            await self._events.job_done(job, images)
        else:
            await self._events.job_failed(job, job.error or INTERNAL)

    async def _deliver(self, event: Awaitable[None]) -> None:
        """A failing adapter never stops a queue."""
        try:
            await event
        except Exception:
            log.exception("could not tell a user about their job")
