"""The worker side of the procrastinate queue: the `generate` task and how it runs a job.

The task is a plain `def` (procrastinate runs it in a thread, so heartbeats go on): it runs the
job's lifecycle (`bot.jobs.lifecycle.run`) on the worker's event loop, where the store lives,
through `asyncio.run_coroutine_threadsafe`, and the images are made on the service's device
thread. `Broadcast` tells every frontend what happens, through `pg_notify`. The process
around it (`kandinsky-bot worker`) is `bot.app.worker`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.jobs import lifecycle
from bot.jobs.distributed import (
    TASK_NAME,
    Kind,
    build_app,
    notify,
)
from bot.jobs.lifecycle import INTERNAL, Recovery
from storage.records import ACTIVE, JobRecord, JobStatus
from storage.store import Store

if TYPE_CHECKING:
    import procrastinate

    from generation.engine.service import GenerationService

log = logging.getLogger(__name__)

_T = TypeVar("_T")
PROGRESS_EVERY = 1.0  # seconds between progress notifications (the last step always)


@dataclass(slots=True)
class Runtime:
    """What the task needs: the loop the store lives on, the store and the service."""

    loop: asyncio.AbstractEventLoop
    store: Store
    service: GenerationService
    name: str

    def call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the worker loop from the task's thread; wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


class Broadcast:
    """The lifecycle's `Signals` on a worker: a notification to every frontend.

    At each step it also asks procrastinate whether the job should stop (`/cancel` of a
    running job) and sets `cancel`, which stops the generation at its next step.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        should_abort: Callable[[], bool],
        cancel: threading.Event,
    ) -> None:
        self._store = store
        self._name = name
        self._should_abort = should_abort
        self._cancel = cancel
        self._last = 0.0

    async def started(self, job: JobRecord) -> None:
        """`started:<id>:<worker>`."""
        log.info("job #%s started on %s", job.id, self._name)
        await notify(self._store, Kind.STARTED, job.id, self._name)

    async def progress(self, job: JobRecord, done: int, total: int) -> None:
        """`progress:<id>:<done>:<total>`, at most once per PROGRESS_EVERY (the last always)."""
        if self._should_abort():
            self._cancel.set()
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        await notify(self._store, Kind.PROGRESS, job.id, done, total)

    async def recovered(self, job: JobRecord, outcome: Recovery) -> None:
        """`retry:<id>`: the worker of an earlier attempt died."""
        await notify(self._store, Kind.RETRY, job.id)

    async def ended(self, job: JobRecord) -> None:
        """`done:<id>:<worker>` or `failed:<id>:<reason>`."""
        if job.status is JobStatus.DONE:
            log.info("job #%s done on %s", job.id, self._name)
            await notify(self._store, Kind.DONE, job.id, self._name)
        else:
            reason = (job.error or INTERNAL).replace(":", " ")[:200]
            await notify(self._store, Kind.FAILED, job.id, reason)


async def run_job(runtime: Runtime, job_id: int, should_abort: Callable[[], bool]) -> str:
    """Run one stored job to its end; return how it ended (done, failed, skipped...)."""
    store = runtime.store
    cancel = threading.Event()
    signals = Broadcast(store, runtime.name, should_abort, cancel)
    try:
        job = await store.get_job(job_id)
        if job is None or job.status not in ACTIVE:
            return "skipped"
        if job.status is JobStatus.RUNNING:  # the worker of an earlier attempt died
            recovery = await lifecycle.recover(store, job, signals)
            if recovery is not Recovery.RETRY:
                return recovery.value
        ran = await lifecycle.run(store, [job], runtime.service, signals, cancel)
    except Exception:
        # A store or database error outside the generation: end the job, never leave it
        # `running` with no procrastinate job behind it.
        log.exception("job #%s could not be run", job_id)
        job = await store.get_job(job_id)
        if job is not None and await lifecycle.fail(store, job, INTERNAL):
            await signals.ended(await store.get_job(job_id) or job)
        raise
    return ran.ended[0].status.value if ran.ended else "skipped"


def build_worker_app(database_url: str, runtime_holder: list[Runtime]) -> procrastinate.App:
    """The procrastinate app whose `generate` task runs jobs on this process's service."""
    app = build_app(database_url)
    del app.tasks[TASK_NAME]

    @app.task(name=TASK_NAME, pass_context=True)
    def generate(context: procrastinate.JobContext, job_id: int) -> str:
        """Run stored job `job_id` (plain def: it blocks a thread, not the loop)."""
        runtime = runtime_holder[0]
        return runtime.call(run_job(runtime, job_id, context.should_abort))

    del generate
    return app
