"""`kandinsky-bot worker`: one GPU worker of the procrastinate queue.

Pipelines load once per process; one job at a time on its device; it only takes jobs of the
model families it was given (one procrastinate queue per family). The task is a plain `def`
(procrastinate runs it in a thread, so heartbeats go on); it reaches the store, which lives
on the worker's event loop, through `asyncio.run_coroutine_threadsafe`. SIGTERM: the
running job finishes, then the process exits 0 (no graceful-shutdown timeout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.app.settings import Settings
from bot.i18n.catalogue import reason_of
from bot.jobs import metrics
from bot.jobs.distributed import (
    HEARTBEAT_SECONDS,
    TASK_NAME,
    apply_schema,
    build_app,
    notify,
    queue_name,
    stalled_loop,
)
from bot.jobs.local import MAX_ATTEMPTS
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationCancelled, RequestError
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
        """Run a store coroutine on the worker loop from the task's thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


def run_job(runtime: Runtime, job_id: int, should_abort: Any) -> str:
    """Run one stored job to its end; return the outcome (done, failed, skipped...)."""
    job = runtime.call(runtime.store.get_job(job_id))
    if job is None or job.status not in ACTIVE:
        return "skipped"
    if job.status == JobStatus.RUNNING:  # the worker of an earlier attempt died
        if job.attempts >= MAX_ATTEMPTS:
            return _fail(runtime, job, "interrupted")
        runtime.call(runtime.store.requeue(job_id))
        runtime.call(notify(runtime.store, "retry", job_id))
    if not runtime.call(runtime.store.mark_running(job_id)):
        return "skipped"
    log.info("job #%s started on %s", job_id, runtime.name)
    runtime.call(notify(runtime.store, "started", job_id, runtime.name))
    metrics.job_started(job)
    began = time.monotonic()
    try:
        with metrics.RUNNING.track_inprogress():
            results = runtime.service.run([job.request], _progress(runtime, job_id, should_abort))
    except GenerationCancelled:
        return _fail(runtime, job, "cancelled")
    except RequestError as error:
        return _fail(runtime, job, reason_of(error))
    except Exception:
        log.exception("job #%s failed", job_id)
        return _fail(runtime, job, "internal")
    from generation.images import read_recipe

    images = [(png, read_recipe(png)) for png in results[0].images]
    metrics.job_done(job, time.monotonic() - began, len(images))
    runtime.call(runtime.store.mark_done(job_id, images))
    runtime.call(notify(runtime.store, "done", job_id, runtime.name))
    log.info("job #%s done on %s", job_id, runtime.name)
    return "done"


def _fail(runtime: Runtime, job: JobRecord, reason: str) -> str:
    metrics.job_failed(reason)
    if runtime.call(runtime.store.mark_failed(job.id, reason)):
        runtime.call(notify(runtime.store, "failed", job.id, reason.replace(":", " ")[:200]))
    return "failed"


def _progress(runtime: Runtime, job_id: int, should_abort: Any) -> Any:
    last = [0.0]

    def on_step(done: int, total: int) -> None:
        if should_abort():
            raise GenerationCancelled("cancelled")
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        runtime.call(notify(runtime.store, "progress", job_id, done, total))

    return on_step


def build_worker_app(settings: Settings, runtime_holder: list[Runtime]) -> procrastinate.App:
    """The procrastinate app whose `generate` task runs jobs on this process's service."""
    app = build_app(settings.database)
    del app.tasks[TASK_NAME]

    @app.task(name=TASK_NAME, pass_context=True)
    def generate(context: procrastinate.JobContext, job_id: int) -> str:
        """Run stored job `job_id` (plain def: it blocks a thread, not the loop)."""
        runtime = runtime_holder[0]
        try:
            return run_job(runtime, job_id, context.should_abort)
        except Exception:
            # A store or database error outside the generation: end the job, never leave
            # it `running` with no procrastinate job behind it.
            log.exception("job #%s could not be run", job_id)
            job = runtime.call(runtime.store.get_job(job_id))
            if job is not None:
                _fail(runtime, job, "internal")
            raise

    del generate
    return app


def families(models: Sequence[str], registry: Families = DEFAULT_FAMILIES) -> list[str]:
    """`2.2,3` -> the family names (every family of `registry` when empty)."""
    from bot.app.settings import SettingsError

    names = [part.strip() for entry in models for part in entry.split(",") if part.strip()]
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise SettingsError(f"--models lists some of {registry.spoken()}, got {', '.join(unknown)}")
    return names or list(registry.names())


async def run_worker(
    settings: Settings,
    device: str,
    models: Sequence[str],
    *,
    signals: bool = True,
    metrics_server: bool = True,
) -> None:
    """Serve jobs of `models` on `device` until SIGTERM/SIGINT (the running job finishes).

    With `signals=False` (inside `kandinsky-bot run`) it stops when cancelled instead. The
    worker is in the `workers` table while it runs, and carries out admin preloads and unloads.
    """
    from bot.app.root import build_generation
    from bot.control.database import WorkerPresence
    from bot.control.inprocess import InProcessControl
    from storage.workers import WorkerDirectory

    # A worker serves the procrastinate queue whatever KBOT_QUEUE says (settings check the URL).
    settings = dataclasses.replace(
        settings, queue="procrastinate", device=(device,) if device else settings.device
    )
    served = families(models)
    store = await Store.open(
        settings.database, settings.data_dir, default_daily_limit=settings.daily_limit
    )
    service = build_generation(settings)
    control = InProcessControl(service, served)
    presence = WorkerPresence(WorkerDirectory(store.engine), control)
    name = control.name
    holder = [Runtime(asyncio.get_running_loop(), store, service, name)]
    app = build_worker_app(settings, holder)
    addr = settings.metrics_addr if metrics_server else None
    server = await metrics.start_metrics(addr, role="worker")
    try:
        async with app.open_async(), presence.running():
            await apply_schema(settings.database)
            await asyncio.to_thread(_preload, service, served)
            await presence.register()
            stalled = asyncio.create_task(stalled_loop(app))
            metrics.ready()
            log.warning("worker %s serving %s", name, ", ".join(served))
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


def _preload(service: GenerationService, served: list[str]) -> None:
    for family in served:
        try:
            service.preload(family)
        except Exception:
            log.exception("could not preload %s", family)
