"""The engine and the transactions every repository shares, and small statement helpers.

SQLite: every connection gets the busy timeout, WAL and foreign keys, and write transactions
begin IMMEDIATE, so they queue on the busy timeout instead of failing when a read turns into a
write. A new SQLite file is made in WAL mode before anything connects to it: switching a file
to WAL is, inside SQLite, a read that turns into a write, and when two connections switch one
file at once (two processes starting on a new database) the one that loses fails at once with
"database is locked" (SQLite does not wait on the busy timeout there: it would deadlock).

PostgreSQL: plain transactions; `Database.serialise` takes a transaction-level advisory lock
where concurrent transactions must take turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, event, false, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import Delete, Update

from storage.tables import Base

_T = TypeVar("_T")
_Row = TypeVar("_Row", bound=Base)

# Execution option that marks the engine whose SQLite transactions begin IMMEDIATE.
_WRITE_OPTION = "kbot_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Ids are 32-bit integers on PostgreSQL: a larger (or non-positive) id names no row.
MAX_ID = 2**31 - 1
# Ids per IN (...) list.
_CHUNK = 500
# Keys of PostgreSQL advisory locks: migrations (several processes starting at once against
# one database), and job admission (the queue caps hold across frontends).
MIGRATION_LOCK = 0x6B626F74  # "kbot"
ADMISSION_LOCK = 0x6B626A71  # "kbjq"


class StoreError(RuntimeError):
    """A store operation that cannot be done (unknown id, say)."""


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def aware(when: datetime | None) -> datetime:
    """`when` in UTC (now for None); a naive datetime is refused."""
    if when is None:
        return utcnow()
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}; pass an aware (UTC) one")
    return when.astimezone(UTC)


def chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    """`items` in slices short enough for one IN (...) list."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def can_exist(row_id: int) -> bool:
    """Whether `row_id` could name a row (ids come from users: a huge one must not raise)."""
    return 1 <= row_id <= MAX_ID


def has_id(column: InstrumentedAttribute[int], row_id: int) -> ColumnElement[bool]:
    """`column = row_id`, or a condition no row meets when the id cannot exist."""
    return column == row_id if can_exist(row_id) else false()


async def get_row(session: AsyncSession, table: type[_Row], row_id: int) -> _Row | None:
    """The row of `table` with this primary key, or None (also for an id that cannot exist)."""
    return await session.get(table, row_id) if can_exist(row_id) else None


async def execute(session: AsyncSession, statement: Update | Delete) -> int:
    """Run a bulk UPDATE/DELETE as plain SQL and return its row count."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount


async def returned(session: AsyncSession, statement: Update | Delete) -> tuple[Any, ...] | None:
    """Run a bulk UPDATE/DELETE ... RETURNING; its first row, or None when none matched."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    row = result.first()
    return None if row is None else tuple(row)


async def upsert(
    session: AsyncSession, table: type[Base], values: dict[str, Any], key: str | tuple[str, ...]
) -> None:
    """Insert a row, or overwrite the one with the same `key` (a column, or the columns of
    a composite key; one statement, race free)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    keys = [key] if isinstance(key, str) else list(key)
    changes = {name: statement.excluded[name] for name in values if name not in keys}
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _on_sqlite_begin), then set the pragmas.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other databases, memory and `file:` URIs."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _create_in_wal_mode(database: Path) -> None:
    """Make a new SQLite file that is in WAL mode from its first byte (see the docstring).

    Built under a temporary name and linked into place, which fails if the file appeared
    meanwhile: then another process made it, the same way. Where hard links are not possible
    the file is left for the first connection to make (and switch to WAL).
    """
    if database.exists():
        return
    temporary = database.with_name(f".{database.name}.{uuid.uuid4().hex}.new")
    try:
        connection = sqlite3.connect(temporary)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
        with contextlib.suppress(OSError):
            os.link(temporary, database)
    finally:
        temporary.unlink(missing_ok=True)


def prepare_folders(url: URL, data_dir: Path) -> Path:
    """Create the data folder (and a new SQLite file); return the absolute data folder."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database = _sqlite_file(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        _create_in_wal_mode(database)
    return data_dir


def create_engine(url: URL) -> AsyncEngine:
    """An async engine; on SQLite with the pragmas and BEGIN IMMEDIATE for writes."""
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


class Database:
    """An engine and its read and write transactions: what every repository shares."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap `engine` (made by `create_engine`)."""
        self.engine = engine
        self.write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self.write_engine, expire_on_commit=False)
        # SQLite has one writer at a time: queue this process's writers here rather than in
        # the busy handler's sleeps (other processes still wait on the busy timeout).
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        async with self._write_lock or nullcontext(), self._writes() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session."""
        async with self._reads() as session:
            yield session

    async def serialise(self, session: AsyncSession, key: int) -> None:
        """Make write transactions that call this with `key` take turns, in every process.

        SQLite's write transactions take turns already (BEGIN IMMEDIATE holds the one write
        lock); on PostgreSQL this takes advisory lock `key` until the transaction ends.
        """
        if self.engine.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def close(self) -> None:
        """Dispose of the engine."""
        await self.engine.dispose()
