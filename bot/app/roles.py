"""The scale-out commands: `kandinsky-bot worker` and `kandinsky-bot migrate` (light imports)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable

from bot.app.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]

log = logging.getLogger(__name__)

# Seconds before a failed in-process worker starts again.
RESTART_SECONDS = 5.0


def add_worker_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `worker` and `migrate` to the sub-command parser."""
    worker = commands.add_parser("worker", help="run one GPU worker of the procrastinate queue")
    worker.add_argument("--device", default="", help="e.g. cuda:1 (default: KBOT_DEVICE)")
    worker.add_argument(
        "--models",
        action="append",
        default=[],
        help="model families this worker serves, e.g. 2.2,3 (default: all)",
    )
    commands.add_parser(
        "migrate", help="create or upgrade the database schema (ours and the queue's)"
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Serve jobs until SIGTERM; the running job finishes first."""
    from bot.app.worker import run_worker

    asyncio.run(run_worker(settings, args.device, args.models))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply our Alembic migrations and procrastinate's schema (idempotent)."""
    created = asyncio.run(_migrate(settings))
    note = " (queue schema created)" if created else ""
    sys.stdout.write(f"database schema is up to date{note}\n")
    return 0


async def _migrate(settings: Settings) -> bool:
    from storage.store import Store

    url = settings.database
    store = await Store.open(url, settings.data_dir, default_daily_limit=settings.daily_limit)
    try:
        if not url.startswith("postgresql"):
            return False
        from bot.jobs.distributed import migrate

        return await migrate(url, store)
    finally:
        await store.close()


def worker_commands() -> dict[str, Command]:
    """The command functions by name."""
    return {"worker": cmd_worker, "migrate": cmd_migrate}


@contextlib.asynccontextmanager
async def frontend_extras(settings: Settings, *, worker: bool) -> AsyncIterator[None]:
    """The metrics endpoint of a frontend and, with procrastinate, an in-process worker."""
    server = None
    if settings.metrics_addr:
        from bot.jobs import metrics

        server = await metrics.start_metrics(settings.metrics_addr, role="frontend")
        metrics.ready()
    task: asyncio.Task[None] | None = None
    if worker and settings.queue == "procrastinate":
        task = asyncio.create_task(supervised_worker(settings), name="kbot-worker")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if server is not None:
            await server.stop()


async def supervised_worker(settings: Settings, *, pause: float = RESTART_SECONDS) -> None:
    """The in-process worker of `kandinsky-bot run`, started again whenever it fails.

    A worker that stopped on an error (a database restart, say) would leave every job
    queued with nobody to run it; the error is logged and the worker comes back after
    `pause` seconds. Cancel the task to stop it.
    """
    from bot.app.worker import run_worker

    while True:
        try:
            await run_worker(settings, "", [], signals=False, metrics_server=False)
        except Exception:
            log.exception("the in-process worker stopped; starting it again in %.0f s", pause)
        else:
            log.warning("the in-process worker stopped; starting it again in %.0f s", pause)
        await asyncio.sleep(pause)
