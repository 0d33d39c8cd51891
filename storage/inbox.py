"""The inbox: what a platform delivered (a Telegram update, ...), stored before it is
acknowledged and kept until the bot has handled it (stored its job, or answered it).

A platform may deliver the same thing twice (a batch fetched again, a webhook retried): each
is stored once, by its platform and key. What a crash left unhandled is taken over by the
next process, which counts the attempts so that a delivery that keeps failing is given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, aware, execute, has_id, utcnow
from storage.records import InboxRecord
from storage.tables import InboxEntry


def _record(entry: InboxEntry, attempts: int | None = None) -> InboxRecord:
    return InboxRecord(
        id=entry.id,
        platform=entry.platform,
        key=entry.key,
        payload=entry.payload,
        attempts=entry.attempts if attempts is None else attempts,
        received_at=entry.received_at,
    )


async def _insert_new(
    session: AsyncSession, platform: str, items: Sequence[tuple[str, str]]
) -> list[int]:
    """Insert the items whose key is not stored yet (one statement); their ids."""
    now = utcnow()
    rows = [
        {
            "platform": platform,
            "key": key,
            "payload": payload,
            "received_at": now,
            "attempts": 1,
            "done_at": None,
            "error": None,
        }
        for key, payload in items
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(InboxEntry)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["platform", "key"])
        .returning(InboxEntry.id)
    )
    return sorted(await session.scalars(statement))


class Inbox:
    """What platforms delivered, until it is handled."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def receive(self, platform: str, items: Sequence[tuple[str, str]]) -> list[InboxRecord]:
        """Store `(key, payload)` pairs in one transaction; return the new ones, oldest first.

        A key already stored (handled or not) is left as it is and not returned: the caller
        handles what is returned (its first attempt), and nothing twice.
        """
        unique = list(dict(items).items())
        if not unique:
            return []
        async with self._db.write() as session:
            ids = await _insert_new(session, platform, unique)
            if not ids:
                return []
            entries = await session.scalars(
                select(InboxEntry).where(InboxEntry.id.in_(ids)).order_by(InboxEntry.id)
            )
            return [_record(entry) for entry in entries]

    async def take_unhandled(self, platform: str) -> list[InboxRecord]:
        """Take over what was received but never handled (a process died), oldest first.

        Each entry's attempts go up by one as it is taken (the returned records carry the
        new count).
        """
        async with self._db.write() as session:
            entries = list(
                await session.scalars(
                    select(InboxEntry)
                    .where(InboxEntry.platform == platform, InboxEntry.done_at.is_(None))
                    .order_by(InboxEntry.id)
                )
            )
            if not entries:
                return []
            await execute(
                session,
                update(InboxEntry)
                .where(InboxEntry.id.in_([entry.id for entry in entries]))
                .values(attempts=InboxEntry.attempts + 1),
            )
            return [_record(entry, entry.attempts + 1) for entry in entries]

    async def mark_handled(self, entry_id: int, error: str | None = None) -> bool:
        """Note that an entry was handled (or given up, with `error`); False if it was already."""
        async with self._db.write() as session:
            changed = await execute(
                session,
                update(InboxEntry)
                .where(has_id(InboxEntry.id, entry_id), InboxEntry.done_at.is_(None))
                .values(done_at=utcnow(), error=error),
            )
        return changed == 1

    async def forget_handled(self, platform: str, before: datetime) -> int:
        """Delete entries handled before `before` (kept until then to refuse a redelivery)."""
        async with self._db.write() as session:
            return await execute(
                session,
                delete(InboxEntry).where(
                    InboxEntry.platform == platform, InboxEntry.done_at < aware(before)
                ),
            )
