"""Admission: a new job is stored only if intake is open, the queue caps allow it and the
user's quota covers it, all in one transaction that concurrent admissions take in turns, in
every process. Nothing is half written: a refusal takes no quota and stores no job, and a step
that fails rolls back the quota taken before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from generation.request import GenerationRequest
from storage import jobs, quotas, state
from storage.db import ADMISSION_LOCK, Database, aware
from storage.records import Admission


class Intake:
    """The door through which jobs enter the queue."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def admit(
        self,
        user_id: int,
        request: GenerationRequest,
        destination: dict[str, Any],
        cost: int,
        *,
        queue_size: int,
        user_queue: int,
        source: str | None = None,
        now: datetime | None = None,
    ) -> Admission:
        """Check pause and caps, reserve `cost` and store the job as queued, or refuse.

        A job whose `source` (what it came from, e.g. a platform's update) was admitted
        before is not admitted again: the admission is that job, marked `duplicate`, and
        nothing else happens. Then the checks run in this order: paused, everyone's active
        (queued or running) jobs against `queue_size`, the user's against `user_queue`, then
        the quota (`now` decides the daily reset). Admissions take turns (SQLite: the write
        lock of BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so counts cannot be passed
        by racing frontends, and two admissions of one source cannot both store a job.
        """
        now = aware(now)
        async with self._db.write() as session:
            await self._db.serialise(session, ADMISSION_LOCK)
            if source is not None:
                earlier = await jobs.with_source(session, source)
                if earlier is not None:
                    return Admission(earlier, None, duplicate=True)
            message = await state.pause_message(session)
            if message is not None:
                return Admission(None, "paused", {"message": message})
            if await jobs.count_active(session) >= queue_size:
                return Admission(None, "queue_full", {"size": queue_size})
            mine = await jobs.count_active(session, user_id)
            if mine >= user_queue:
                return Admission(None, "user_queue_full", {"count": mine, "limit": user_queue})
            if not await quotas.reserve(session, user_id, cost, now):
                quota = quotas.quota_record(await quotas.quota_row(session, user_id))
                return Admission(None, "quota", {"limit": quota.daily_limit}, quota)
            job = await jobs.insert(session, user_id, request, destination, cost, source)
            return Admission(job, None)
