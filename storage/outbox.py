"""The outbox: every message to a user, kept until the platform took it (or refused it for good).

A message is stored `pending` with the time of its next try; a sender takes it (`claim`: it
becomes `sending` until a lease runs out, so no other sender tries it meanwhile) and records
how the try went: `sent`, `pending` again at a later time, or `failed`. A message's `key`
(`job:12:result`) makes it idempotent: a second message with a stored key is not stored. Each
step is one conditional statement, so of racing senders, in any number of processes, one
wins.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import jobs
from storage.db import Database, aware, can_exist, execute, has_id, returned, utcnow
from storage.records import OutboxDraft, OutboxRecord, OutboxStatus
from storage.tables import OutboxMessage

# The statuses of messages still on their way.
_WAITING = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
# Ended messages nobody needs any more (a failed result waits for its owner to be told).
_SETTLED = (OutboxStatus.SENT.value, OutboxStatus.REPORTED.value)


def _record(row: OutboxMessage) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        key=row.key,
        platform=row.platform,
        user_id=row.user_id,
        job_id=row.job_id,
        kind=row.kind,
        destination=row.destination,
        payload=row.payload,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_at=row.next_at,
        created_at=row.created_at,
        sent_at=row.sent_at,
        error=row.error,
    )


async def _insert(
    session: AsyncSession, draft: OutboxDraft, hold: timedelta | None, now: datetime
) -> OutboxRecord | None:
    """Store one message unless its key is stored; the new row, or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    status = OutboxStatus.PENDING if hold is None else OutboxStatus.SENDING
    statement = (
        insert(OutboxMessage)
        .values(
            key=draft.key,
            platform=draft.platform,
            user_id=draft.user_id,
            job_id=draft.job_id,
            kind=draft.kind,
            destination=draft.destination,
            payload=draft.payload,
            status=status.value,
            attempts=0 if hold is None else 1,
            next_at=now if hold is None else now + hold,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[OutboxMessage.key])
        .returning(OutboxMessage)
    )
    row = (await session.scalars(statement)).first()
    return None if row is None else _record(row)


class Outbox:
    """Messages to users on their way, and how each try went."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def post(
        self,
        drafts: Sequence[OutboxDraft],
        *,
        hold: timedelta | None = None,
        tell_job: int | None = None,
    ) -> list[OutboxRecord]:
        """Store messages, skipping those whose key is stored; return the rows stored.

        With `hold`, the new rows are claimed for that long (the caller sends them now).
        With `tell_job`, the job is marked told in the same transaction, and nothing is
        stored when it was told already: the end of a job is posted once.
        """
        now = utcnow()
        async with self._db.write() as session:
            if tell_job is not None and not await jobs.claim_telling(session, tell_job):
                return []
            stored = [await _insert(session, draft, hold, now) for draft in drafts]
        return [record for record in stored if record is not None]

    async def due(
        self, platforms: Collection[str], limit: int = 50, now: datetime | None = None
    ) -> list[OutboxRecord]:
        """Messages to these platforms whose next try is due (a lease that ran out counts)."""
        if not platforms:
            return []
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status.in_(_WAITING),
                OutboxMessage.next_at <= (now or utcnow()),
                OutboxMessage.platform.in_(sorted(platforms)),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        async with self._db.read() as session:
            return [_record(row) for row in await session.scalars(query)]

    async def claim(self, message_id: int, hold: timedelta) -> OutboxRecord | None:
        """Take a due message for one try (held for `hold`); None if it is not due or taken."""
        now = utcnow()
        async with self._db.write() as session:
            taken = await returned(
                session,
                update(OutboxMessage)
                .where(
                    has_id(OutboxMessage.id, message_id),
                    OutboxMessage.status.in_(_WAITING),
                    OutboxMessage.next_at <= now,
                )
                .values(
                    status=OutboxStatus.SENDING.value,
                    attempts=OutboxMessage.attempts + 1,
                    next_at=now + hold,
                )
                .returning(OutboxMessage.id),
            )
            row = None if taken is None else await session.get(OutboxMessage, message_id)
            return None if row is None else _record(row)

    async def sent(self, message_id: int) -> None:
        """The platform took the message."""
        await self._end(message_id, status=OutboxStatus.SENT.value, sent_at=utcnow(), error=None)

    async def retry(
        self, message_id: int, at: datetime, error: str, payload: dict[str, Any]
    ) -> None:
        """The try failed; try again at `at` (`payload` keeps what the try noted)."""
        await self._end(
            message_id, status=OutboxStatus.PENDING.value, next_at=at, error=error, payload=payload
        )

    async def fail(self, message_id: int, error: str) -> None:
        """The message will never go (refused for good, or given up on)."""
        await self._end(message_id, status=OutboxStatus.FAILED.value, error=error)

    async def _end(self, message_id: int, **values: Any) -> None:
        """Record how a try went, unless the message is no longer being sent."""
        async with self._db.write() as session:
            await execute(
                session,
                update(OutboxMessage)
                .where(
                    has_id(OutboxMessage.id, message_id),
                    OutboxMessage.status == OutboxStatus.SENDING.value,
                )
                .values(**values),
            )

    async def release(self, message_ids: Collection[int] | None = None) -> int:
        """Make held messages due now: these, or (None) every one (nobody else sends)."""
        query = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING.value)
        if message_ids is not None:
            if not message_ids:
                return 0
            query = query.where(OutboxMessage.id.in_(sorted(message_ids)))
        async with self._db.write() as session:
            return await execute(
                session, query.values(status=OutboxStatus.PENDING.value, next_at=utcnow())
            )

    async def take_undelivered(self, user_id: int, kind: str) -> int:
        """How many messages of `kind` to the user failed since they were last told; those
        are now told (of two callers at once, one gets the count, the other 0)."""
        if not can_exist(user_id):
            return 0
        owed = (
            OutboxMessage.status == OutboxStatus.FAILED.value,
            OutboxMessage.user_id == user_id,
            OutboxMessage.kind == kind,
        )
        async with self._db.read() as session:  # asked on every command: mostly nothing
            if await session.scalar(select(OutboxMessage.id).where(*owed).limit(1)) is None:
                return 0
        async with self._db.write() as session:
            return await execute(
                session,
                update(OutboxMessage).where(*owed).values(status=OutboxStatus.REPORTED.value),
            )

    async def waiting(self, platforms: Collection[str]) -> int:
        """How many messages to these platforms are still on their way."""
        if not platforms:
            return 0
        query = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status.in_(_WAITING), OutboxMessage.platform.in_(sorted(platforms))
        )
        async with self._db.read() as session:
            return int(await session.scalar(query) or 0)

    async def next_try(self, platforms: Collection[str]) -> datetime | None:
        """When the soonest retry of a message to these platforms is due, if any waits."""
        if not platforms:
            return None
        query = select(func.min(OutboxMessage.next_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.platform.in_(sorted(platforms)),
        )
        async with self._db.read() as session:
            soonest = await session.scalar(query)
        return None if soonest is None else aware(soonest)

    async def find(self, key: str) -> OutboxRecord | None:
        """The message stored with this key, if any."""
        async with self._db.read() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        return None if row is None else _record(row)

    async def prune(self, before: datetime, keep_kind: str) -> int:
        """Forget messages settled before `before` (failed ones of `keep_kind` wait for their
        owner to be told); keys stay taken until then."""
        settled = or_(
            OutboxMessage.status.in_(_SETTLED),
            (OutboxMessage.status == OutboxStatus.FAILED.value) & (OutboxMessage.kind != keep_kind),
        )
        async with self._db.write() as session:
            return await execute(
                session,
                delete(OutboxMessage).where(settled, OutboxMessage.created_at < before),
            )
