"""Quotas: a daily limit that resets at UTC midnight, plus extra credits that do not.

Every change is one conditional UPDATE whose row count says whether it happened, so racing
callers, in one process or several, never lose or double count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, StoreError, aware, execute, has_id
from storage.records import QuotaRecord
from storage.tables import Quota


def next_midnight(now: datetime) -> datetime:
    """The first UTC midnight after `now`: when a daily quota resets."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def new_quota(user_id: int, daily_limit: int, now: datetime) -> Quota:
    """The quota row of a new user: nothing used yet."""
    return Quota(
        user_id=user_id,
        daily_limit=daily_limit,
        used_today=0,
        extra_credits=0,
        reset_at=next_midnight(now),
    )


def quota_record(quota: Quota) -> QuotaRecord:
    """The plain record of a quota row."""
    return QuotaRecord(
        daily_limit=quota.daily_limit,
        used_today=quota.used_today,
        extra_credits=quota.extra_credits,
        reset_at=quota.reset_at,
    )


async def quota_row(session: AsyncSession, user_id: int) -> Quota:
    """A user's quota row (StoreError if there is none)."""
    quota = (await session.execute(select(Quota).where(has_id(Quota.user_id, user_id)))).scalar()
    if quota is None:
        raise StoreError(f"no quota for user {user_id}")
    return quota


async def _reset_if_due(session: AsyncSession, user_id: int, now: datetime) -> None:
    """The daily reset: one conditional UPDATE, so only one of racing callers does it."""
    await execute(
        session,
        update(Quota)
        .where(has_id(Quota.user_id, user_id), Quota.reset_at <= now)
        .values(used_today=0, reset_at=next_midnight(now)),
    )


async def reserve(session: AsyncSession, user_id: int, amount: int, now: datetime) -> bool:
    """Take `amount` (today's allowance first, then extra credits); False if it does not fit."""
    if amount < 0:
        raise ValueError(f"cannot reserve a negative amount ({amount})")
    n = amount
    daily_left = case(
        (Quota.daily_limit > Quota.used_today, Quota.daily_limit - Quota.used_today), else_=0
    )
    fits_daily = Quota.used_today + n <= Quota.daily_limit
    await _reset_if_due(session, user_id, now)
    taken = await execute(
        session,
        update(Quota)
        .where(has_id(Quota.user_id, user_id), daily_left + Quota.extra_credits >= n)
        .values(
            used_today=case(
                (fits_daily, Quota.used_today + n), else_=Quota.used_today + daily_left
            ),
            extra_credits=case(
                (fits_daily, Quota.extra_credits),
                else_=Quota.extra_credits - (n - daily_left),
            ),
        ),
    )
    return taken == 1


async def refund(session: AsyncSession, user_id: int, amount: int) -> bool:
    """Give `amount` back to today's use; what exceeds it becomes extra credits."""
    if amount < 0:
        raise ValueError(f"cannot refund a negative amount ({amount})")
    covered: ColumnElement[bool] = Quota.used_today >= amount
    changed = await execute(
        session,
        update(Quota)
        .where(has_id(Quota.user_id, user_id))
        .values(
            used_today=case((covered, Quota.used_today - amount), else_=0),
            extra_credits=case(
                (covered, Quota.extra_credits),
                else_=Quota.extra_credits + (amount - Quota.used_today),
            ),
        ),
    )
    return changed == 1


async def merge(session: AsyncSession, old_id: int, target_id: int) -> None:
    """Add what is left of user `old_id`'s extra credits to `target_id`'s (linking)."""
    old = await quota_row(session, old_id)
    if old.extra_credits > 0:
        await execute(
            session,
            update(Quota)
            .where(Quota.user_id == target_id)
            .values(extra_credits=Quota.extra_credits + old.extra_credits),
        )


class Quotas:
    """The quota of each user."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def get(self, user_id: int, now: datetime | None = None) -> QuotaRecord:
        """The quota, after the daily reset if it is due."""
        now = aware(now)
        async with self._db.read() as session:
            quota = await quota_row(session, user_id)
            if quota.reset_at > now:
                return quota_record(quota)
        async with self._db.write() as session:
            await _reset_if_due(session, user_id, now)
            return quota_record(await quota_row(session, user_id))

    async def reserve(self, user_id: int, amount: int, now: datetime | None = None) -> bool:
        """Take `amount` with one conditional UPDATE; False when not enough is left."""
        now = aware(now)
        async with self._db.write() as session:
            return await reserve(session, user_id, amount, now)

    async def refund(self, user_id: int, amount: int) -> None:
        """Give back `amount` (a failed or cancelled job)."""
        async with self._db.write() as session:
            if not await refund(session, user_id, amount):
                raise StoreError(f"no quota for user {user_id}")

    async def set_daily_limit(self, user_id: int, limit: int) -> QuotaRecord:
        """Set a user's daily limit."""
        if limit < 0:
            raise ValueError(f"a daily limit cannot be negative ({limit})")
        return await self._change(user_id, daily_limit=limit)

    async def grant_credits(self, user_id: int, credits: int) -> QuotaRecord:
        """Add extra credits that do not reset (a negative grant takes some, down to 0)."""
        total = Quota.extra_credits + credits
        return await self._change(user_id, extra_credits=case((total < 0, 0), else_=total))

    async def reset(self, user_id: int) -> QuotaRecord:
        """Set today's use back to zero."""
        return await self._change(user_id, used_today=0)

    async def _change(self, user_id: int, **values: Any) -> QuotaRecord:
        async with self._db.write() as session:
            if not await execute(
                session, update(Quota).where(has_id(Quota.user_id, user_id)).values(**values)
            ):
                raise StoreError(f"no quota for user {user_id}")
            return quota_record(await quota_row(session, user_id))
