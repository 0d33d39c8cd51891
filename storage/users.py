"""Users: people, their platform accounts, settings and bans, and linking accounts by code."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import quotas, state
from storage.db import Database, StoreError, aware, execute, get_row, has_id, returned, utcnow
from storage.records import AccountRecord, UserRecord, UserSettings
from storage.tables import (
    Account,
    Flag,
    Image,
    Job,
    LinkCode,
    OutboxMessage,
    PromptHistory,
    Setting,
    User,
)

_SETTING_FIELDS = frozenset(field.name for field in dataclasses.fields(UserSettings))


def user_record(user: User) -> UserRecord:
    """The plain record of a user row."""
    return UserRecord(
        id=user.id,
        name=user.name,
        language=user.language,
        banned=user.banned,
        ban_reason=user.ban_reason,
        created_at=user.created_at,
    )


async def user_row(session: AsyncSession, user_id: int) -> User:
    """The user row (StoreError if there is none)."""
    user = await get_row(session, User, user_id)
    if user is None:
        raise StoreError(f"no user with id {user_id}")
    return user


def _settings_record(setting: Setting) -> UserSettings:
    return UserSettings(**{name: getattr(setting, name) for name in _SETTING_FIELDS})


async def _settings_row(session: AsyncSession, user_id: int) -> Setting:
    setting = await get_row(session, Setting, user_id)
    if setting is None:
        raise StoreError(f"no user with id {user_id}")
    return setting


def _user_and_account(platform: str, platform_user_id: str) -> Select[User, Account]:
    return (
        select(User, Account)
        .join(Account, Account.user_id == User.id)
        .where(Account.platform == platform, Account.platform_user_id == platform_user_id)
    )


class Users:
    """People and their platform accounts, settings, bans and links."""

    def __init__(self, db: Database, default_daily_limit: int) -> None:
        """Work on `db`; new users get `default_daily_limit` images a day."""
        self._db = db
        self._default_daily_limit = default_daily_limit

    async def ensure(
        self, platform: str, platform_user_id: str, name: str, language: str | None = None
    ) -> UserRecord:
        """The user behind this platform account, creating both (and a quota) if new."""
        async with self._db.read() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
        if found is not None:
            user, account = found
            if account.name == name and language in (None, user.language):
                return user_record(user)
        try:
            return await self._ensure(platform, platform_user_id, name, language)
        except IntegrityError:
            # Another process created the account between our read and our insert.
            return await self._ensure(platform, platform_user_id, name, language)

    async def _ensure(
        self, platform: str, platform_user_id: str, name: str, language: str | None
    ) -> UserRecord:
        async with self._db.write() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
            if found is not None:
                user, account = found
                if user.name == account.name:  # the user's name came from this account
                    user.name = name
                account.name = name
                if language is not None:
                    user.language = language
                return user_record(user)
            now = utcnow()
            user = User(name=name, language=language, banned=False, ban_reason=None, created_at=now)
            session.add(user)
            await session.flush()
            session.add_all(
                [
                    Account(
                        platform=platform,
                        platform_user_id=platform_user_id,
                        user_id=user.id,
                        name=name,
                    ),
                    Setting(
                        user_id=user.id,
                        default_model=None,
                        width=None,
                        height=None,
                        steps=None,
                        negative_prompt=None,
                        language=None,
                    ),
                    quotas.new_quota(user.id, self._default_daily_limit, now),
                ]
            )
            return user_record(user)

    async def find(self, platform: str, platform_user_id: str) -> UserRecord | None:
        """The user behind a platform account, or None."""
        async with self._db.read() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
        return None if found is None else user_record(found[0])

    async def get(self, user_id: int) -> UserRecord:
        """A user by id (StoreError if unknown)."""
        async with self._db.read() as session:
            return user_record(await user_row(session, user_id))

    async def accounts(self, user_id: int) -> list[AccountRecord]:
        """The platform accounts of a user (StoreError if the user is unknown)."""
        async with self._db.read() as session:
            await user_row(session, user_id)
            rows = await session.scalars(
                select(Account)
                .where(Account.user_id == user_id)
                .order_by(Account.platform, Account.platform_user_id)
            )
            return [
                AccountRecord(
                    platform=row.platform,
                    platform_user_id=row.platform_user_id,
                    user_id=row.user_id,
                    name=row.name,
                )
                for row in rows
            ]

    async def set_ban(self, user_id: int, banned: bool, reason: str | None = None) -> None:
        """Ban or unban a user."""
        async with self._db.write() as session:
            changed = await execute(
                session,
                update(User)
                .where(has_id(User.id, user_id))
                .values(banned=banned, ban_reason=reason if banned else None),
            )
            if not changed:
                raise StoreError(f"no user with id {user_id}")

    async def settings(self, user_id: int) -> UserSettings:
        """A user's defaults."""
        async with self._db.read() as session:
            return _settings_record(await _settings_row(session, user_id))

    async def update_settings(self, user_id: int, **changes: Any) -> UserSettings:
        """Change some defaults (a None value clears one); return them all."""
        unknown = set(changes) - _SETTING_FIELDS
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        async with self._db.write() as session:
            if changes:
                await execute(
                    session,
                    update(Setting).where(has_id(Setting.user_id, user_id)).values(**changes),
                )
            return _settings_record(await _settings_row(session, user_id))

    async def create_link_code(self, user_id: int, code: str, expires_at: datetime) -> None:
        """Store a single-use code that links another account to `user_id` until `expires_at`."""
        expires_at = aware(expires_at)
        async with self._db.write() as session:
            await user_row(session, user_id)
            if await session.get(LinkCode, code) is not None:
                raise StoreError("that link code is already in use")
            session.add(LinkCode(code=code, user_id=user_id, expires_at=expires_at))

    async def redeem_link_code(
        self,
        code: str,
        platform: str,
        platform_user_id: str,
        name: str,
        now: datetime | None = None,
    ) -> UserRecord | None:
        """Link this account to the code's user; None for an unknown or expired code.

        If the account already belonged to another user, that user is merged into the code's
        user: accounts, jobs, images and history move over, remaining extra credits are
        added, a ban carries over, the code's user keeps their picture for the next command
        (the other's moves over only if they had none), and the old user is deleted. One
        transaction; the code works once, and expired codes are cleared on the way.
        """
        now = aware(now)
        async with self._db.write() as session:
            taken = await returned(
                session,
                delete(LinkCode)
                .where(LinkCode.code == code)
                .returning(LinkCode.user_id, LinkCode.expires_at),
            )
            await execute(session, delete(LinkCode).where(LinkCode.expires_at <= now))
            if taken is None:
                return None
            target_id, expires_at = taken
            if expires_at <= now:
                return None
            target = await user_row(session, target_id)
            account = await session.get(Account, (platform, platform_user_id))
            if account is None:
                session.add(
                    Account(
                        platform=platform,
                        platform_user_id=platform_user_id,
                        user_id=target_id,
                        name=name,
                    )
                )
            else:
                account.name = name
                if account.user_id != target_id:
                    await _merge(session, account.user_id, target)
            await session.flush()
            await session.refresh(target)
            return user_record(target)


async def _merge(session: AsyncSession, old_id: int, target: User) -> None:
    """Move everything of user `old_id` onto `target` and delete the old user."""
    old = await user_row(session, old_id)
    for table in (Account, Job, Image, PromptHistory, LinkCode, OutboxMessage, Flag):
        await execute(
            session, update(table).where(table.user_id == old_id).values(user_id=target.id)
        )
    await quotas.merge(session, old_id, target.id)
    await state.merge_pending_init(session, old_id, target.id)
    if old.banned and not target.banned:
        await execute(
            session,
            update(User).where(User.id == target.id).values(banned=True, ban_reason=old.ban_reason),
        )
    await execute(session, delete(User).where(User.id == old_id))
