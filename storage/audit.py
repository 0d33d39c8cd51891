"""The audit log: every admin action, and every refused attempt at one."""

from __future__ import annotations

from sqlalchemy import String, select

from storage.db import Database, utcnow
from storage.records import AuditRecord
from storage.tables import AuditEntry


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        allowed=entry.allowed,
    )


def _fit(column: str, value: str) -> str:
    """`value`, cut to what the column holds (an admin may type any length)."""
    kind = AuditEntry.__table__.columns[column].type
    limit = kind.length if isinstance(kind, String) else None
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


class AuditLog:
    """Admin actions, allowed or refused, newest first."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def add(self, actor: str, action: str, target: str, detail: str, allowed: bool) -> None:
        """Record an admin action or a refused attempt."""
        async with self._db.write() as session:
            session.add(
                AuditEntry(
                    at=utcnow(),
                    actor=_fit("actor", actor),
                    action=_fit("action", action),
                    target=_fit("target", target),
                    detail=detail,
                    allowed=allowed,
                )
            )

    async def latest(self, limit: int = 20) -> list[AuditRecord]:
        """The latest entries, newest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
            )
            return [_record(row) for row in rows]
