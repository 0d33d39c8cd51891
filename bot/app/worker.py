"""`kandinsky-bot worker`: one GPU worker process of the procrastinate queue.

Pipelines load once per process; one job at a time on its device; it only takes jobs of the
model families it was given (one procrastinate queue per family). While it runs it is in the
`workers` table and carries out admin preloads and unloads. It is ready on /healthz once every
family it serves has loaded; a family that did not load is logged and named there. SIGTERM:
the running job finishes, then the process exits 0 (no graceful-shutdown timeout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.app.settings import Settings, parse_families
from bot.jobs import metrics
from bot.jobs.distributed import HEARTBEAT_SECONDS, apply_schema, queue_name, stalled_loop
from bot.jobs.worker import Runtime, build_worker_app
from generation.request import RequestError
from storage.store import Store

if TYPE_CHECKING:
    import procrastinate
    import procrastinate.worker

    from generation.engine.service import GenerationService

log = logging.getLogger(__name__)


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
    served = parse_families(models)
    store = await Store.open(
        settings.database, settings.data_dir, default_daily_limit=settings.daily_limit
    )
    service = build_generation(settings)
    control = InProcessControl(service, served)
    presence = WorkerPresence(WorkerDirectory(store.engine), control)
    name = control.name
    holder = [Runtime(asyncio.get_running_loop(), store, service, name)]
    app = build_worker_app(settings.database, holder)
    addr = settings.metrics_addr if metrics_server else None
    server = await metrics.start_metrics(addr, role="worker")
    try:
        async with app.open_async(), presence.running():
            await apply_schema(settings.database)
            problems = await asyncio.to_thread(preload, service, served)
            await presence.register()
            stalled = asyncio.create_task(stalled_loop(app))
            if problems:
                metrics.not_ready("; ".join(problems))
            else:
                metrics.ready()
            log.warning("worker %s serving %s", name, ", ".join(served))
            try:
                worker = _beating_worker()(
                    app=app,
                    queues=[queue_name(family) for family in served],
                    name=name,
                    concurrency=1,
                    update_heartbeat_interval=HEARTBEAT_SECONDS,
                    abort_job_polling_interval=1.0,
                    fetch_job_polling_interval=1.0,
                    install_signal_handlers=signals,
                )
                await worker.run()
            finally:
                stalled.cancel()
                await asyncio.gather(stalled, return_exceptions=True)
    finally:
        if server is not None:
            await server.stop()
        await asyncio.to_thread(service.close)
        await store.close()


def preload(service: GenerationService, served: Sequence[str]) -> list[str]:
    """Load the pipelines of each family served; return what failed, one sentence a family.

    Each failure is logged. The worker still serves (the other families' jobs run; a job of
    a family that did not load fails with the same sentence), but is not ready on /healthz.
    """
    problems = []
    for family in served:
        try:
            service.preload(family)
        except RequestError as error:  # a sentence that says it all (a missing checkpoint)
            log.error("could not preload Kandinsky %s: %s", family, error)
            problems.append(str(error))
        except Exception as error:
            log.exception("could not preload Kandinsky %s", family)
            problems.append(f"could not load Kandinsky {family}: {error}")
    return problems


def _beating_worker() -> type[procrastinate.worker.Worker]:
    """procrastinate's worker, made to keep its heartbeat while a stop waits for the job.

    On SIGTERM procrastinate 3.x cancels its side tasks, the heartbeat among them, before it
    waits for the running job; a job that runs on for longer than the stalled-worker delay
    then looks abandoned, and another worker's check runs it a second time. This worker
    first waits for its running jobs with every side task still going, then shuts down as
    procrastinate does.
    """
    from procrastinate.worker import Worker

    class BeatingWorker(Worker):
        async def _shutdown(self, side_tasks: list[asyncio.Task[Any]]) -> None:
            if self._running_jobs:
                await asyncio.wait(self._running_jobs, timeout=self.shutdown_graceful_timeout)
            await super()._shutdown(side_tasks)

    return BeatingWorker
