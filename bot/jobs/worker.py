"""`kandinsky-bot worker`: one GPU worker of the procrastinate queue.

Pipelines load once per process; one job at a time on its device; it only takes jobs of the
model families it was given (one procrastinate queue per family). The task is a plain `def`
(procrastinate runs it in a thread, so heartbeats go on): it runs the job's lifecycle
(`bot.jobs.lifecycle.run`) on the worker's event loop, where the store lives, through
`asyncio.run_coroutine_threadsafe`, and the images are made on the service's device thread.
`Broadcast` tells every frontend what happens, through `pg_notify`. SIGTERM: the running job
finishes, then the process exits 0 (no graceful-shutdown timeout).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.app.settings import Settings
from bot.jobs import lifecycle, metrics
from bot.jobs.distributed import (
    HEARTBEAT_SECONDS,
    TASK_NAME,
    Kind,
    apply_schema,
    build_app,
    notify,
    queue_name,
    stalled_loop,
)
from bot.jobs.lifecycle import INTERNAL, Recovery
from generation.request import Family
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


def worker_name(device: str) -> str:
    """`host:pid:device`, shown in logs and sent with `started`."""
    return f"{socket.gethostname()}:{os.getpid()}:{device}"


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


def build_worker_app(settings: Settings, runtime_holder: list[Runtime]) -> procrastinate.App:
    """The procrastinate app whose `generate` task runs jobs on this process's service."""
    app = build_app(_database_url(settings))
    del app.tasks[TASK_NAME]

    @app.task(name=TASK_NAME, pass_context=True)
    def generate(context: procrastinate.JobContext, job_id: int) -> str:
        """Run stored job `job_id` (plain def: it blocks a thread, not the loop)."""
        runtime = runtime_holder[0]
        return runtime.call(run_job(runtime, job_id, context.should_abort))

    del generate
    return app


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        from bot.app.settings import SettingsError

        raise SettingsError("KBOT_QUEUE=procrastinate needs a PostgreSQL KBOT_DATABASE_URL")
    return settings.database_url


def families(models: Sequence[str]) -> list[Family]:
    """`2.2,3` -> the families (all of them when empty)."""
    from bot.app.settings import SettingsError

    names = [part.strip() for entry in models for part in entry.split(",") if part.strip()]
    known = {family.value for family in Family}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SettingsError(f"--models lists 2.1, 2.2 or 3, got {', '.join(unknown)}")
    return [Family(name) for name in names] if names else list(Family)


async def run_worker(
    settings: Settings,
    device: str,
    models: Sequence[str],
    *,
    signals: bool = True,
    metrics_server: bool = True,
) -> None:
    """Serve jobs of `models` on `device` until SIGTERM/SIGINT (the running job finishes).

    With `signals=False` (inside `kandinsky-bot run`) it stops when cancelled instead.
    """
    from bot.app.root import build_generation

    settings = _with_device(settings, device)
    store = await Store.open(
        _database_url(settings), settings.data_dir, default_daily_limit=settings.daily_limit
    )
    service = build_generation(settings)
    name = worker_name(",".join(settings.device))
    holder = [Runtime(asyncio.get_running_loop(), store, service, name)]
    app = build_worker_app(settings, holder)
    served = families(models)
    addr = settings.metrics_addr if metrics_server else None
    server = await metrics.start_metrics(addr, role="worker")
    try:
        async with app.open_async():
            await apply_schema(_database_url(settings))
            await asyncio.to_thread(_preload, service, served)
            stalled = asyncio.create_task(stalled_loop(app))
            metrics.ready()
            log.warning("worker %s serving %s", name, ", ".join(f.value for f in served))
            try:
                await app.run_worker_async(
                    queues=[queue_name(family) for family in served],
                    name=name,
                    concurrency=1,
                    update_heartbeat_interval=HEARTBEAT_SECONDS,
                    abort_job_polling_interval=1.0,
                    fetch_job_polling_interval=1.0,
                    install_signal_handlers=signals,
                )
            finally:
                stalled.cancel()
                await asyncio.gather(stalled, return_exceptions=True)
    finally:
        if server is not None:
            await server.stop()
        await asyncio.to_thread(service.close)
        await store.close()


def _preload(service: GenerationService, served: list[Family]) -> None:
    for family in served:
        try:
            service.preload(family)
        except Exception:
            log.exception("could not preload %s", family)


def _with_device(settings: Settings, device: str) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, device=(device,)) if device else settings
