"""The directory of processes that hold pipelines, and the admin requests they carry out.

Each worker keeps one row in `workers` (what it serves and holds, refreshed as a heartbeat)
and drops it when it stops. A frontend posts a request (`preload` or `unload`) in
`worker_requests`; every live worker carries it out once and writes its result in
`worker_replies`. Plain records in, plain records out; times are UTC from `clock`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import Worker, WorkerReply, WorkerRequest


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One worker as it last described itself."""

    name: str
    device: str
    families: tuple[str, ...]
    loaded: tuple[str, ...]
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class WorkerRequestRecord:
    """An admin request for every worker: `action` (preload, unload) and a family or None."""

    id: int
    action: str
    family: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WorkerReplyRecord:
    """One worker's result for one request (a JSON object of the worker's making)."""

    request_id: int
    worker: str
    result: dict[str, Any]
    created_at: datetime


class WorkerDirectory:
    """Reads and writes `workers`, `worker_requests` and `worker_replies` on one engine."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def _dialect_insert(self, table: type[Worker | WorkerReply]) -> Any:
        """An INSERT with `on_conflict_*` (PostgreSQL's or SQLite's: the same call on both)."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def register(
        self, name: str, device: str, families: Iterable[str], loaded: Iterable[str]
    ) -> None:
        """Create or refresh the row of worker `name`, seen now."""
        values = {
            "name": name,
            "device": device,
            "families": list(families),
            "loaded": sorted(loaded),
            "seen_at": self._clock(),
        }
        statement = self._dialect_insert(Worker).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[Worker.name],
            set_={key: statement.excluded[key] for key in values if key != "name"},
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def drop(self, name: str) -> None:
        """Forget worker `name` (it stopped)."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(Worker).where(Worker.name == name))

    async def live(self, within: timedelta) -> list[WorkerRecord]:
        """Workers seen in the last `within`, by name."""
        since = self._clock() - within
        query = select(Worker).where(Worker.seen_at >= since).order_by(Worker.name)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            WorkerRecord(row.name, row.device, tuple(row.families), tuple(row.loaded), row.seen_at)
            for row in rows
        ]

    async def ask(self, action: str, family: str | None) -> WorkerRequestRecord:
        """Post a request for every worker; return it."""
        created = self._clock()
        statement = (
            insert(WorkerRequest)
            .values(action=action, family=family, created_at=created)
            .returning(WorkerRequest.id)
        )
        async with self._engine.begin() as connection:
            request_id = (await connection.execute(statement)).scalar_one()
        return WorkerRequestRecord(request_id, action, family, created)

    async def last_request_id(self) -> int:
        """The newest request's id (0 when there is none): a worker starting up skips it."""
        async with self._engine.connect() as connection:
            found = (await connection.execute(select(func.max(WorkerRequest.id)))).scalar()
        return int(found or 0)

    async def requests_after(self, request_id: int) -> list[WorkerRequestRecord]:
        """Requests newer than `request_id`, oldest first."""
        query = (
            select(WorkerRequest).where(WorkerRequest.id > request_id).order_by(WorkerRequest.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [WorkerRequestRecord(row.id, row.action, row.family, row.created_at) for row in rows]

    async def reply(self, request_id: int, worker: str, result: dict[str, Any]) -> None:
        """Store worker `worker`'s result for a request (once: a second reply is ignored)."""
        statement = (
            self._dialect_insert(WorkerReply)
            .values(request_id=request_id, worker=worker, result=result, created_at=self._clock())
            .on_conflict_do_nothing()
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def replies(self, request_id: int, workers: Sequence[str]) -> list[WorkerReplyRecord]:
        """The replies to a request from any of `workers`, by worker name."""
        query = (
            select(WorkerReply)
            .where(WorkerReply.request_id == request_id, WorkerReply.worker.in_(list(workers)))
            .order_by(WorkerReply.worker)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            WorkerReplyRecord(row.request_id, row.worker, dict(row.result), row.created_at)
            for row in rows
        ]

    async def prune(self, older_than: timedelta) -> None:
        """Delete requests (with their replies) and worker rows older than `older_than`."""
        before = self._clock() - older_than
        async with self._engine.begin() as connection:
            await connection.execute(delete(WorkerRequest).where(WorkerRequest.created_at < before))
            await connection.execute(delete(Worker).where(Worker.seen_at < before))
