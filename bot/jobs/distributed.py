"""Scale-out: the procrastinate job queue between bot frontends and GPU workers.

Frontends defer one procrastinate job per stored job, to the queue of the request's model
family (`kbot-2.2`, ...), with `lock=user-<id>` (one running job per user across all
workers) and `priority=-depth`, where depth is how many of the user's jobs were already
active: procrastinate picks the highest priority, then the oldest job, so the waiting jobs
run round robin across users, as in the embedded queue.

procrastinate stores no results: workers move our jobs table (the truth, as on one
machine) through `bot.jobs.lifecycle` and send `pg_notify(kbot_jobs, '<kind>:<job id>:...')`;
every frontend listens and hands the notifications for the jobs it owns (those it submitted,
and at start the active jobs of the platforms it serves) to the lifecycle's `Teller`. Images
are files under the shared data folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Container
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.jobs import lifecycle, metrics
from bot.jobs.eta import Estimator
from bot.jobs.lifecycle import Recovery, Teller
from bot.jobs.port import JobEvents
from generation.families import DEFAULT_FAMILIES, Families
from storage.records import JobRecord, JobStatus
from storage.store import Store

if TYPE_CHECKING:
    import procrastinate
    import psycopg

log = logging.getLogger(__name__)

CHANNEL = "kbot_jobs"
TASK_NAME = "kbot.generate"
QUEUE_PREFIX = "kbot-"
REFRESH_SECONDS = 1.0
HEARTBEAT_SECONDS = 2.0
STALLED_SECONDS = 6.0
# Advisory lock key serialising the creation of procrastinate's schema ("kbqs").
SCHEMA_LOCK_KEY = 0x6B627173


class Kind(enum.StrEnum):
    """What a notification says happened to a job (the first part of its payload)."""

    STARTED = "started"  # extra: the worker's name
    PROGRESS = "progress"  # extra: steps done, steps in all
    DONE = "done"  # extra: the worker's name
    FAILED = "failed"  # extra: the reason
    RETRY = "retry"  # an earlier attempt's worker died; it runs again


def queue_name(family: str) -> str:
    """The procrastinate queue of a model family."""
    return f"{QUEUE_PREFIX}{family}"


def conninfo(database_url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL (any driver)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the procrastinate queue needs PostgreSQL, not {url.drivername}")
    params: dict[str, Any] = {"dbname": url.database}
    host = url.query.get("host") or url.host
    params["host"] = host if isinstance(host, str) else (host[0] if host else None)
    params.update(user=url.username, password=url.password, port=url.port)
    return make_conninfo(**{key: value for key, value in params.items() if value is not None})


def build_app(database_url: str) -> procrastinate.App:
    """A procrastinate app on the database, with the `generate` task registered (no body)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=4
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK_NAME, pass_context=True)
    def generate(context: procrastinate.JobContext, job_id: int) -> None:
        """Replaced on workers (bot.jobs.worker); frontends only defer it."""
        raise RuntimeError("frontends do not run jobs")

    del generate
    return app


async def apply_schema(database_url: str) -> bool:
    """Create procrastinate's schema unless it is there; True when it was created.

    Frontends, workers and `kandinsky-bot migrate` may all start at once on a new database:
    a transaction-level advisory lock lets one of them create the schema and the others
    then find it.
    """
    import psycopg
    from procrastinate.schema import SchemaManager

    connect = psycopg.AsyncConnection.connect(conninfo(database_url))
    async with await connect as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
        row = await cursor.fetchone()
        if row is not None and row[0] is not None:
            return False
        await connection.execute(SchemaManager.get_schema())
    return True


async def migrate(database_url: str, store: Store) -> bool:
    """Our migrations ran in `Store.open`; add procrastinate's schema (idempotent)."""
    del store
    return await apply_schema(database_url)


async def notify(store: Store, kind: Kind, job_id: int, *extra: object) -> None:
    """Tell every frontend about a job: `kind:job_id[:extra...]` on the CHANNEL."""
    payload = ":".join(str(part) for part in (kind.value, job_id, *extra))
    async with store.engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": payload},
        )


async def retry_stalled(app: procrastinate.App) -> list[int]:
    """Put jobs of workers that stopped beating back to `todo`; return their ids.

    The task caps attempts itself (our jobs table counts them), since this retry ignores
    the task's retry policy.
    """
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
    retried = []
    for job in stalled:
        await app.job_manager.retry_job(job)
        if job.id is not None:
            retried.append(job.id)
    if retried:
        log.warning("retrying stalled jobs %s", retried)
    return retried


async def stalled_loop(app: procrastinate.App, every: float = HEARTBEAT_SECONDS) -> None:
    """Retry stalled jobs every `every` seconds, forever (cancel to stop)."""
    while True:
        try:
            await retry_stalled(app)
        except Exception:
            log.exception("could not check for stalled jobs")
        await asyncio.sleep(every)


@dataclass(frozen=True, slots=True)
class Notice:
    """One parsed notification."""

    kind: str
    job_id: int
    extra: tuple[str, ...]

    @classmethod
    def parse(cls, payload: str) -> Notice | None:
        """`kind:job_id[:extra...]`, or None for anything else."""
        kind, _, rest = payload.partition(":")
        parts = rest.split(":")
        if not parts[0].isdigit():
            return None
        return cls(kind, int(parts[0]), tuple(parts[1:]))


@dataclass(slots=True)
class _Snapshot:
    waiting: list[JobRecord]
    running: list[JobRecord]
    depth: dict[int, int]


class ProcrastinateQueue:
    """`JobQueue` for frontends: jobs run on `kandinsky-bot worker` processes anywhere.

    `platforms` (None: all) are the platforms whose users this frontend talks to: it takes
    over their active jobs at start and tells their owners. Waiting times are predicted from
    the speeds the workers measured for `families` (`bot.jobs.eta`), read with the queue.
    """

    def __init__(
        self,
        store: Store,
        events: JobEvents,
        database_url: str,
        *,
        platforms: Container[str] | None = None,
        adopt: bool = True,
        listen: bool = True,
        families: Families = DEFAULT_FAMILIES,
    ) -> None:
        self._store = store
        self._teller = Teller(store, events, platforms)
        self._estimator = Estimator(families)
        self._app = build_app(database_url)
        self._database_url = database_url
        self._conninfo = conninfo(database_url)
        self._adopt = adopt
        self._listen_enabled = listen
        self._owned: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._snapshot = _Snapshot([], [], {})
        self._listening = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self._sweeping = asyncio.Lock()
        self.workers: dict[int, str] = {}

    @property
    def app(self) -> procrastinate.App:
        """The procrastinate app (open between start and stop)."""
        return self._app

    # -- interface ---------------------------------------------------------------------
    @property
    def batches(self) -> bool:
        """Never: a worker runs one job at a time."""
        return False

    async def start(self) -> None:
        """Open the app, listen to job notifications, adopt active jobs, refresh the view."""
        await self._app.open_async()
        await apply_schema(self._database_url)  # `kandinsky-bot migrate` did it, normally
        self._tasks = [asyncio.create_task(self._refresh_loop(), name="kbot-refresh")]
        if self._listen_enabled:
            self._tasks.append(asyncio.create_task(self._listen(), name="kbot-listen"))
            await asyncio.wait_for(self._listening.wait(), timeout=30)
        if self._adopt:
            await self._adopt_active()
        await self._refresh()
        await self._tell_untold()

    async def _adopt_active(self) -> None:
        """Own the active jobs of our platforms; defer those nobody will run.

        A frontend that died between storing a job and deferring it leaves a queued job
        with no procrastinate job; a worker task that ended without ending its job leaves a
        running one. Deferred again, a worker runs the first and retries or fails the
        second (`lifecycle.recover`). A second defer of a job is harmless: a worker only
        runs a job that is still active.
        """
        for job in await self._store.jobs((JobStatus.QUEUED, JobStatus.RUNNING)):
            if not self._teller.serves(job):
                continue
            self._owned.add(job.id)
            if await self._procrastinate_job(job.id) is None:
                log.warning("job #%s is %s with nobody to run it; deferring it", job.id, job.status)
                await self.submit(job)

    async def stop(self) -> None:
        """Stop listening; jobs keep running on the workers."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._app.close_async()

    async def submit(self, job: JobRecord) -> None:
        """Defer the (committed) job to its family's queue, under its user's lock."""
        depth = max(0, await self._store.count_active(job.user_id) - 1)
        self._owned.add(job.id)
        await (
            self._app.tasks[TASK_NAME]
            .configure(
                queue=queue_name(job.request.model),
                lock=f"user-{job.user_id}",
                priority=-depth,
            )
            .defer_async(job_id=job.id)
        )
        await self._refresh()

    def expecting(self) -> AbstractContextManager[None]:
        """Workers take one job at a time: nothing to gather."""
        return contextlib.nullcontext()

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job (refunded) or ask its worker to stop at the next step."""
        found = await self._procrastinate_job(job_id)
        manager = self._app.job_manager
        if found is not None:
            procrastinate_id, status = found
            if status == "todo" and await manager.cancel_job_by_id_async(procrastinate_id):
                cancelled = await lifecycle.cancel(self._store, job_id)
                await self._refresh()
                return cancelled
            if await manager.cancel_job_by_id_async(procrastinate_id, abort=True):
                return True
        return await lifecycle.cancel(self._store, job_id)

    def waiting(self) -> list[JobRecord]:
        """Waiting jobs in the order workers will take them (round robin by user)."""
        return list(self._snapshot.waiting)

    def running(self) -> list[JobRecord]:
        """Jobs running on any worker."""
        return list(self._snapshot.running)

    def position(self, job_id: int) -> int | None:
        """1-based place among waiting jobs."""
        for index, job in enumerate(self._snapshot.waiting, start=1):
            if job.id == job_id:
                return index
        return None

    def eta(self, job_id: int) -> float | None:
        """Seconds until done, from the speeds measured for the jobs running and ahead."""
        for job in self._snapshot.running:
            if job.id == job_id:
                return self._left(job)
        waiting = self._snapshot.waiting
        for index, job in enumerate(waiting):
            if job.id == job_id:
                return self._until_done(job, waiting[:index])
        return None

    def estimate(self, job: JobRecord) -> tuple[int, float | None]:
        """Position and seconds to done that `job`, stored but not submitted yet, will get."""
        mine = sum(
            active.user_id == job.user_id for active in self._active() if active.id != job.id
        )
        depth = self._snapshot.depth
        ahead = [
            waiting
            for waiting in self._snapshot.waiting
            if waiting.id != job.id and depth.get(waiting.id, 0) <= mine
        ]
        return len(ahead) + 1, self._until_done(job, ahead)

    async def wait_idle(self) -> None:
        """Wait until no job is queued or running anywhere and our owners were told."""
        while await self._store.count_active() or await self._untold():  # noqa: ASYNC110 - other processes
            await asyncio.sleep(0.1)
        async with self._sweeping:  # a look for untold jobs may be telling one now
            pass
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    # -- view ----------------------------------------------------------------------------
    def _active(self) -> list[JobRecord]:
        return [*self._snapshot.waiting, *self._snapshot.running]

    def _left(self, job: JobRecord) -> float:
        """Seconds a running job will likely run on."""
        began = job.started_at or datetime.now(UTC)
        return self._estimator.left([job.request], (datetime.now(UTC) - began).total_seconds())

    def _until_done(self, job: JobRecord, ahead: list[JobRecord]) -> float:
        running = self._snapshot.running
        slots = max(1, len(running), len(set(self.workers.values())))
        busy = [self._left(active) for active in running]
        requests = [waiting.request for waiting in ahead]
        return self._estimator.until_done(job.request, requests, busy, slots)

    async def _untold(self) -> bool:
        return any(self._teller.serves(job) for job in await self._store.untold_jobs())

    async def _procrastinate_job(self, job_id: int) -> tuple[int, str] | None:
        row = await self._app.connector.execute_query_one_async(
            "SELECT coalesce(max(id), 0) AS id, coalesce(max(status::text), '') AS status "
            "FROM procrastinate_jobs WHERE task_name = %(task)s "
            "AND args->>'job_id' = %(job)s AND status IN ('todo', 'doing')",
            task=TASK_NAME,
            job=str(job_id),
        )
        return (int(row["id"]), str(row["status"])) if row["id"] else None

    async def _refresh(self) -> None:
        rows = await self._app.connector.execute_query_all_async(
            "SELECT (args->>'job_id')::bigint AS job_id, priority, id "
            "FROM procrastinate_jobs WHERE task_name = %(task)s AND status = 'todo'",
            task=TASK_NAME,
        )
        order = {int(row["job_id"]): (-int(row["priority"]), int(row["id"])) for row in rows}
        waiting = await self._store.jobs((JobStatus.QUEUED,))
        waiting.sort(key=lambda job: order.get(job.id, (0, 1 << 62)))
        running = await self._store.jobs((JobStatus.RUNNING,))
        depth = {job_id: rank for job_id, (rank, _) in order.items()}
        self._snapshot = _Snapshot(waiting, running, depth)
        self._estimator.learn(await self._store.speeds())  # the workers measure them
        metrics.QUEUE_DEPTH.set(len(waiting))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self._refresh()
                await self._tell_untold()
            except Exception:
                log.exception("could not read the queue")

    async def _tell_untold(self) -> None:
        """Tell the owners of jobs that ended unheard: a notification lost while the
        listening connection was down, or a job that ended while no frontend ran."""
        async with self._sweeping:
            await self._teller.tell_untold()

    # -- notifications ---------------------------------------------------------------------
    async def _listen(self) -> None:
        """LISTEN on the channel (reconnecting on errors) and dispatch each notification."""
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as connection:
                    await self._listen_on(connection)
            except (psycopg.Error, OSError):
                log.exception("lost the notification connection; reconnecting")
                self._listening.clear()
                await asyncio.sleep(1)

    async def _listen_on(self, connection: psycopg.AsyncConnection[Any]) -> None:
        await connection.execute(f"LISTEN {CHANNEL}")
        self._listening.set()
        async for message in connection.notifies():
            notice = Notice.parse(message.payload)
            if notice is None or notice.job_id not in self._owned:
                continue
            task = asyncio.create_task(self._dispatch(notice))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _dispatch(self, notice: Notice) -> None:
        """Hand one notification to the teller; a failing adapter never stops us."""
        try:
            job = await self._store.get_job(notice.job_id)
            if job is not None:
                await self._event(notice, job)
        except Exception:
            log.exception("could not tell a user about job #%s", notice.job_id)

    async def _event(self, notice: Notice, job: JobRecord) -> None:
        if notice.kind == Kind.STARTED:
            self.workers[job.id] = ":".join(notice.extra) or "?"
            await self._teller.started(job)
        elif notice.kind == Kind.PROGRESS and len(notice.extra) >= 2:
            await self._teller.progress(job, int(notice.extra[0]), int(notice.extra[1]))
        elif notice.kind in (Kind.DONE, Kind.FAILED):
            self._owned.discard(job.id)
            await self._teller.ended(job)
        elif notice.kind == Kind.RETRY:
            await self._teller.recovered(job, Recovery.RETRY)
