"""The store: users, accounts, settings, quotas, jobs, images, history and audit log.

SQLAlchemy 2 async over SQLite (default) or PostgreSQL (`KBOT_DATABASE_URL`). Alembic
migrations run in `Store.open`. Output images live as files under the data directory.

Every change that could race (quota, job status) is one conditional UPDATE whose row count
says whether it happened, so concurrent callers, in one process or several, never lose or
double count. On SQLite, write transactions start with `BEGIN IMMEDIATE` so they queue on the
busy timeout instead of failing when a read turns into a write.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    case,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import Delete, Update

from generation.request import GenerationRequest
from storage import migrate
from storage.records import (
    ACTIVE,
    AccountRecord,
    AuditRecord,
    ImageRecord,
    JobRecord,
    JobStatus,
    QuotaRecord,
    Stats,
    UserRecord,
    UserSettings,
)
from storage.tables import (
    Account,
    AuditEntry,
    Image,
    Job,
    JobInput,
    LinkCode,
    PromptHistory,
    Quota,
    Setting,
    User,
)

_T = TypeVar("_T")

# Execution option that marks the engine whose SQLite transactions begin IMMEDIATE.
_WRITE_OPTION = "kbot_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Done jobs (newest first) the wait/run percentiles of `stats()` look at.
STATS_WINDOW = 10_000
# Ids per IN (...) list when loading job inputs and image ids.
_CHUNK = 500
# How they ended is told for jobs done or failed; a cancelled job's owner hears it at once.
TOLD = (JobStatus.DONE, JobStatus.FAILED)
# How far back `untold_jobs` looks: older results are not sent out of the blue.
UNTOLD_WITHIN = timedelta(days=1)

_SETTING_FIELDS = frozenset(field.name for field in dataclasses.fields(UserSettings))


class StoreError(RuntimeError):
    """A store operation that cannot be done (unknown id, say)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(when: datetime | None) -> datetime:
    if when is None:
        return _utcnow()
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}; pass an aware (UTC) one")
    return when.astimezone(UTC)


def next_midnight(now: datetime) -> datetime:
    """The first UTC midnight after `now`: when a daily quota resets."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile (0..1) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _write_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (temp file in the same folder, then rename)."""
    if target.is_file() and target.stat().st_size == len(data):
        return  # content-addressed: the same bytes are there already
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _user_record(user: User) -> UserRecord:
    return UserRecord(
        id=user.id,
        name=user.name,
        language=user.language,
        banned=user.banned,
        ban_reason=user.ban_reason,
        created_at=user.created_at,
    )


def _quota_record(quota: Quota) -> QuotaRecord:
    return QuotaRecord(
        daily_limit=quota.daily_limit,
        used_today=quota.used_today,
        extra_credits=quota.extra_credits,
        reset_at=quota.reset_at,
    )


def _settings_record(setting: Setting) -> UserSettings:
    return UserSettings(**{name: getattr(setting, name) for name in _SETTING_FIELDS})


def _audit_record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        allowed=entry.allowed,
    )


def _history_prompt(request: dict[str, Any]) -> str:
    prompt = str(request.get("prompt") or "")
    if prompt:
        return prompt
    texts = [str(item["text"]) for item in request.get("mix") or () if item.get("text")]
    return " | ".join(texts)


class Store:
    """Async access to everything the bot keeps. Build with `await Store.open(...)`."""

    def __init__(self, engine: AsyncEngine, data_dir: Path, default_daily_limit: int) -> None:
        """Wrap a migrated engine; use `Store.open`, which also migrates."""
        self._engine = engine
        self._data_dir = data_dir
        self._default_daily_limit = default_daily_limit
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self._write_engine, expire_on_commit=False)
        # SQLite has one writer at a time: queue this process's writers here rather than in
        # the busy handler's sleeps (other processes still wait on the busy timeout).
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def open(cls, url: str, data_dir: Path, *, default_daily_limit: int = 50) -> Store:
        """Connect, apply migrations, and return the store."""
        parsed = migrate.async_url(url)
        data_dir = await asyncio.to_thread(_prepare_folders, parsed, data_dir)
        engine = _create_engine(parsed)
        store = cls(engine, data_dir, default_daily_limit)
        try:
            await migrate.upgrade(store._write_engine)
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def close(self) -> None:
        """Dispose of the engine."""
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The engine (for admin tools and tests; the store's methods are the API)."""
        return self._engine

    @property
    def data_dir(self) -> Path:
        """The folder that holds the image files."""
        return self._data_dir

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        async with self._write_lock or nullcontext(), self._writes() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session."""
        async with self._reads() as session:
            yield session

    # users, accounts, settings
    async def ensure_user(
        self, platform: str, platform_user_id: str, name: str, language: str | None = None
    ) -> UserRecord:
        """Return the user behind this platform account, creating both (and a quota) if new."""
        async with self._read() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
        if found is not None:
            user, account = found
            if account.name == name and language in (None, user.language):
                return _user_record(user)
        try:
            return await self._ensure_user(platform, platform_user_id, name, language)
        except IntegrityError:
            # Another process created the account between our read and our insert.
            return await self._ensure_user(platform, platform_user_id, name, language)

    async def _ensure_user(
        self, platform: str, platform_user_id: str, name: str, language: str | None
    ) -> UserRecord:
        async with self._write() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
            if found is not None:
                user, account = found
                if user.name == account.name:  # the user's name came from this account
                    user.name = name
                account.name = name
                if language is not None:
                    user.language = language
                return _user_record(user)
            now = _utcnow()
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
                    Quota(
                        user_id=user.id,
                        daily_limit=self._default_daily_limit,
                        used_today=0,
                        extra_credits=0,
                        reset_at=next_midnight(now),
                    ),
                ]
            )
            return _user_record(user)

    async def find_user(self, platform: str, platform_user_id: str) -> UserRecord | None:
        """Return the user behind a platform account, or None."""
        async with self._read() as session:
            found = (await session.execute(_user_and_account(platform, platform_user_id))).first()
        return None if found is None else _user_record(found[0])

    async def get_user(self, user_id: int) -> UserRecord:
        """Return a user by id (StoreError if unknown)."""
        async with self._read() as session:
            return _user_record(await _get_user(session, user_id))

    async def accounts(self, user_id: int) -> list[AccountRecord]:
        """The platform accounts of a user (StoreError if the user is unknown)."""
        async with self._read() as session:
            await _get_user(session, user_id)
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
        async with self._write() as session:
            changed = await _execute(
                session,
                update(User)
                .where(User.id == user_id)
                .values(banned=banned, ban_reason=reason if banned else None),
            )
            if not changed:
                raise StoreError(f"no user with id {user_id}")

    async def get_settings(self, user_id: int) -> UserSettings:
        """Return a user's defaults."""
        async with self._read() as session:
            return _settings_record(await _get_settings(session, user_id))

    async def update_settings(self, user_id: int, **changes: Any) -> UserSettings:
        """Change some defaults (a None value clears one); return them all."""
        unknown = set(changes) - _SETTING_FIELDS
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        async with self._write() as session:
            if changes:
                await _execute(
                    session, update(Setting).where(Setting.user_id == user_id).values(**changes)
                )
            return _settings_record(await _get_settings(session, user_id))

    # quotas
    async def quota(self, user_id: int, now: datetime | None = None) -> QuotaRecord:
        """Return the quota, after the daily reset if it is due."""
        now = _aware(now)
        async with self._read() as session:
            quota = await _get_quota(session, user_id)
            if quota.reset_at > now:
                return _quota_record(quota)
        async with self._write() as session:
            await _reset_if_due(session, user_id, now)
            return _quota_record(await _get_quota(session, user_id))

    async def reserve_quota(self, user_id: int, amount: int, now: datetime | None = None) -> bool:
        """Take `amount` with one conditional UPDATE; False when not enough is left."""
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount})")
        now = _aware(now)
        n = amount
        daily_left = case(
            (Quota.daily_limit > Quota.used_today, Quota.daily_limit - Quota.used_today), else_=0
        )
        fits_daily = Quota.used_today + n <= Quota.daily_limit
        async with self._write() as session:
            await _reset_if_due(session, user_id, now)
            taken = await _execute(
                session,
                update(Quota)
                .where(Quota.user_id == user_id, daily_left + Quota.extra_credits >= n)
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

    async def refund_quota(self, user_id: int, amount: int) -> None:
        """Give back `amount` (a failed or cancelled job)."""
        async with self._write() as session:
            if not await _refund(session, user_id, amount):
                raise StoreError(f"no quota for user {user_id}")

    async def set_daily_limit(self, user_id: int, limit: int) -> QuotaRecord:
        """Set a user's daily limit."""
        if limit < 0:
            raise ValueError(f"a daily limit cannot be negative ({limit})")
        return await self._change_quota(user_id, daily_limit=limit)

    async def grant_credits(self, user_id: int, credits: int) -> QuotaRecord:
        """Add extra credits that do not reset (a negative grant takes some, down to 0)."""
        total = Quota.extra_credits + credits
        return await self._change_quota(user_id, extra_credits=case((total < 0, 0), else_=total))

    async def reset_quota(self, user_id: int) -> QuotaRecord:
        """Set today's use back to zero."""
        return await self._change_quota(user_id, used_today=0)

    async def _change_quota(self, user_id: int, **values: Any) -> QuotaRecord:
        async with self._write() as session:
            if not await _execute(
                session, update(Quota).where(Quota.user_id == user_id).values(**values)
            ):
                raise StoreError(f"no quota for user {user_id}")
            return _quota_record(await _get_quota(session, user_id))

    # jobs
    async def create_job(
        self, user_id: int, request: GenerationRequest, destination: dict[str, Any], cost: int
    ) -> JobRecord:
        """Store a queued job (the request's pictures included)."""
        record, blobs = request.to_record()
        async with self._write() as session:
            await _get_user(session, user_id)
            job = Job(
                user_id=user_id,
                status=JobStatus.QUEUED.value,
                request=record,
                destination=destination,
                progress_ref=None,
                cost=cost,
                attempts=0,
                created_at=_utcnow(),
                started_at=None,
                finished_at=None,
                error=None,
            )
            session.add(job)
            await session.flush()
            session.add_all(
                JobInput(job_id=job.id, position=position, data=data)
                for position, data in enumerate(blobs)
            )
            return _job_record(job, blobs, ())

    async def get_job(self, job_id: int) -> JobRecord | None:
        """Return a job, or None."""
        async with self._read() as session:
            jobs = await self._load_jobs(session, select(Job).where(Job.id == job_id))
        return jobs[0] if jobs else None

    async def set_progress_ref(self, job_id: int, ref: dict[str, Any]) -> None:
        """Remember which message shows the job's progress."""
        async with self._write() as session:
            if not await _execute(
                session, update(Job).where(Job.id == job_id).values(progress_ref=ref)
            ):
                raise StoreError(f"no job with id {job_id}")

    async def mark_running(self, job_id: int) -> bool:
        """queued -> running (attempts + 1); False if the job was not queued."""
        async with self._write() as session:
            changed = await _execute(
                session,
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
                .values(
                    status=JobStatus.RUNNING.value,
                    attempts=Job.attempts + 1,
                    started_at=_utcnow(),
                ),
            )
        return changed == 1

    async def requeue(self, job_id: int) -> bool:
        """running -> queued (after a restart); False if it was not running."""
        async with self._write() as session:
            changed = await _execute(
                session,
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
                .values(status=JobStatus.QUEUED.value, started_at=None),
            )
        return changed == 1

    async def mark_done(
        self, job_id: int, images: list[tuple[bytes, dict[str, Any]]]
    ) -> list[ImageRecord]:
        """running -> done: write the PNGs, record images and prompt history."""
        now = _utcnow()
        async with self._write() as session:
            done = (
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
                    .values(status=JobStatus.DONE.value, finished_at=now, error=None)
                    .returning(Job.user_id, Job.request)
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if done is None:
                job = await session.get(Job, job_id)
                if job is None:
                    raise StoreError(f"no job with id {job_id}")
                raise StoreError(f"job {job_id} is {job.status}, not running")
            user_id, request = done
            rows: list[Image] = []
            for position, (data, recipe) in enumerate(images):
                digest = hashlib.sha256(data).hexdigest()
                relative = f"images/{now:%Y}/{now:%m}/{digest}.png"
                await asyncio.to_thread(_write_file, self._data_dir / relative, data)
                rows.append(
                    Image(
                        job_id=job_id,
                        user_id=user_id,
                        position=position,
                        sha256=digest,
                        path=relative,
                        recipe=recipe,
                        created_at=now,
                    )
                )
            session.add_all(rows)
            session.add(
                PromptHistory(
                    user_id=user_id, job_id=job_id, prompt=_history_prompt(request), created_at=now
                )
            )
            await session.flush()
            return [self._image_record(row) for row in rows]

    async def mark_failed(self, job_id: int, error: str) -> bool:
        """queued/running -> failed and refund its cost; False if it had already ended."""
        return await self._end_with_refund(
            job_id, ACTIVE, JobStatus.FAILED, error=error, finished_at=_utcnow()
        )

    async def cancel_job(self, job_id: int) -> bool:
        """queued -> cancelled and refund its cost; False if it was not queued."""
        return await self._end_with_refund(
            job_id, (JobStatus.QUEUED,), JobStatus.CANCELLED, finished_at=_utcnow()
        )

    async def _end_with_refund(
        self, job_id: int, before: tuple[JobStatus, ...], after: JobStatus, **values: Any
    ) -> bool:
        async with self._write() as session:
            ended = (
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status.in_([status.value for status in before]))
                    .values(status=after.value, **values)
                    .returning(Job.user_id, Job.cost)
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if ended is None:
                return False
            user_id, cost = ended
            await _refund(session, user_id, cost)
            return True

    async def claim_telling(self, job_id: int) -> bool:
        """Note that a finished job's owner is being told how it ended; False if already.

        Whoever gets True tells the owner: the result reaches them once, however many
        processes or notifications race for it.
        """
        async with self._write() as session:
            return bool(
                await _execute(
                    session,
                    update(Job)
                    .where(Job.id == job_id, Job.told_at.is_(None))
                    .values(told_at=_utcnow()),
                )
            )

    async def untold_jobs(self, within: timedelta = UNTOLD_WITHIN) -> list[JobRecord]:
        """Jobs that ended (done or failed) in the last `within` with their owner not told."""
        since = _utcnow() - within
        query = (
            select(Job)
            .where(Job.status.in_([s.value for s in TOLD]), Job.told_at.is_(None))
            .where(Job.finished_at >= since)
        )
        async with self._read() as session:
            return await self._load_jobs(session, query.order_by(Job.id))

    async def jobs(
        self, statuses: tuple[JobStatus, ...], user_id: int | None = None
    ) -> list[JobRecord]:
        """Jobs with these statuses (of one user, or all), oldest first."""
        query = select(Job).where(Job.status.in_([JobStatus(s).value for s in statuses]))
        if user_id is not None:
            query = query.where(Job.user_id == user_id)
        async with self._read() as session:
            return await self._load_jobs(session, query.order_by(Job.created_at, Job.id))

    async def _load_jobs(self, session: AsyncSession, query: Select[Job]) -> list[JobRecord]:
        jobs = list(await session.scalars(query))
        ids = [job.id for job in jobs]
        blobs: dict[int, list[bytes]] = {job_id: [] for job_id in ids}
        image_ids: dict[int, list[int]] = {job_id: [] for job_id in ids}
        for chunk in _chunks(ids):
            inputs = await session.execute(
                select(JobInput.job_id, JobInput.data)
                .where(JobInput.job_id.in_(chunk))
                .order_by(JobInput.job_id, JobInput.position)
            )
            for job_id, data in inputs:
                blobs[job_id].append(data)
        done = [job.id for job in jobs if job.status == JobStatus.DONE.value]
        for chunk in _chunks(done):
            made = await session.execute(
                select(Image.job_id, Image.id)
                .where(Image.job_id.in_(chunk))
                .order_by(Image.job_id, Image.position)
            )
            for job_id, image_id in made:
                image_ids[job_id].append(image_id)
        return [_job_record(job, blobs[job.id], tuple(image_ids[job.id])) for job in jobs]

    async def count_active(self, user_id: int | None = None) -> int:
        """Queued or running jobs (of one user, or all)."""
        query = select(func.count(Job.id)).where(Job.status.in_([s.value for s in ACTIVE]))
        if user_id is not None:
            query = query.where(Job.user_id == user_id)
        async with self._read() as session:
            return int(await session.scalar(query) or 0)

    # images and history
    def _image_record(self, image: Image) -> ImageRecord:
        return ImageRecord(
            id=image.id,
            job_id=image.job_id,
            user_id=image.user_id,
            sha256=image.sha256,
            path=self._data_dir / image.path,
            recipe=image.recipe,
            created_at=image.created_at,
        )

    async def get_image(self, image_id: int) -> ImageRecord | None:
        """Return an image record, or None."""
        async with self._read() as session:
            image = await session.get(Image, image_id)
            return None if image is None else self._image_record(image)

    async def read_image(self, image: ImageRecord) -> bytes:
        """Return the PNG bytes of a stored image."""
        try:
            return await asyncio.to_thread(image.path.read_bytes)
        except FileNotFoundError as error:
            raise StoreError(f"the file of image {image.id} is missing: {image.path}") from error

    async def history(
        self, user_id: int, page: int = 1, per_page: int = 10
    ) -> tuple[list[ImageRecord], int]:
        """A page of the user's images, newest first, and the number of pages (0 for none)."""
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        page = max(page, 1)
        async with self._read() as session:
            total = int(
                await session.scalar(select(func.count(Image.id)).where(Image.user_id == user_id))
                or 0
            )
            rows = await session.scalars(
                select(Image)
                .where(Image.user_id == user_id)
                .order_by(Image.created_at.desc(), Image.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            return [self._image_record(row) for row in rows], math.ceil(total / per_page)

    # admin
    async def stats(self, now: datetime | None = None) -> Stats:
        """Users, jobs by status, images today, p50/p95 wait and run seconds."""
        now = _aware(now)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._read() as session:
            users = int(await session.scalar(select(func.count(User.id))) or 0)
            by_status = await session.execute(
                select(Job.status, func.count(Job.id)).group_by(Job.status)
            )
            jobs_by_status = {str(status): int(count) for status, count in by_status}
            images_today = int(
                await session.scalar(
                    select(func.count(Image.id)).where(
                        Image.created_at >= today, Image.created_at < today + timedelta(days=1)
                    )
                )
                or 0
            )
            timings = await session.execute(
                select(Job.created_at, Job.started_at, Job.finished_at)
                .where(Job.status == JobStatus.DONE.value)
                .order_by(Job.id.desc())
                .limit(STATS_WINDOW)
            )
            waits: list[float] = []
            runs: list[float] = []
            for created, started, finished in timings:
                if started is not None:
                    waits.append((started - created).total_seconds())
                    if finished is not None:
                        runs.append((finished - started).total_seconds())
        return Stats(
            users=users,
            jobs_by_status=jobs_by_status,
            images_today=images_today,
            wait_p50=percentile(waits, 0.5),
            wait_p95=percentile(waits, 0.95),
            run_p50=percentile(runs, 0.5),
            run_p95=percentile(runs, 0.95),
        )

    async def audit(self, actor: str, action: str, target: str, detail: str, allowed: bool) -> None:
        """Record an admin action or a refused attempt."""
        async with self._write() as session:
            session.add(
                AuditEntry(
                    at=_utcnow(),
                    actor=actor,
                    action=action,
                    target=target,
                    detail=detail,
                    allowed=allowed,
                )
            )

    async def audit_log(self, limit: int = 20) -> list[AuditRecord]:
        """The latest audit entries, newest first."""
        async with self._read() as session:
            rows = await session.scalars(
                select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
            )
            return [_audit_record(row) for row in rows]

    # account linking
    async def create_link_code(self, user_id: int, code: str, expires_at: datetime) -> None:
        """Store a single-use code that links another account to `user_id` until `expires_at`."""
        expires_at = _aware(expires_at)
        async with self._write() as session:
            await _get_user(session, user_id)
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
        added, a ban carries over, and the old user is deleted. One transaction; the code
        works once, and expired codes are cleared on the way.
        """
        now = _aware(now)
        async with self._write() as session:
            taken = (
                await session.execute(
                    delete(LinkCode)
                    .where(LinkCode.code == code)
                    .returning(LinkCode.user_id, LinkCode.expires_at)
                    .execution_options(synchronize_session=False)
                )
            ).first()
            await _execute(session, delete(LinkCode).where(LinkCode.expires_at <= now))
            if taken is None:
                return None
            target_id, expires_at = taken
            if expires_at <= now:
                return None
            target = await _get_user(session, target_id)
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
                    await _merge_user(session, account.user_id, target)
            await session.flush()
            await session.refresh(target)
            return _user_record(target)


def _prepare_folders(url: URL, data_dir: Path) -> Path:
    """Create the data folder (and a SQLite file's folder); return the absolute data folder."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        is_uri = database.startswith("file:")
        if not is_uri:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return data_dir


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _user_and_account(platform: str, platform_user_id: str) -> Select[User, Account]:
    return (
        select(User, Account)
        .join(Account, Account.user_id == User.id)
        .where(Account.platform == platform, Account.platform_user_id == platform_user_id)
    )


async def _execute(session: AsyncSession, statement: Update | Delete) -> int:
    """Run a bulk UPDATE/DELETE as plain SQL and return its row count."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return _rowcount(result)


async def _get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise StoreError(f"no user with id {user_id}")
    return user


async def _get_settings(session: AsyncSession, user_id: int) -> Setting:
    setting = await session.get(Setting, user_id)
    if setting is None:
        raise StoreError(f"no user with id {user_id}")
    return setting


async def _get_quota(session: AsyncSession, user_id: int) -> Quota:
    quota = (await session.execute(select(Quota).where(Quota.user_id == user_id))).scalar()
    if quota is None:
        raise StoreError(f"no quota for user {user_id}")
    return quota


async def _reset_if_due(session: AsyncSession, user_id: int, now: datetime) -> None:
    """The daily reset: one conditional UPDATE, so only one of racing callers does it."""
    await _execute(
        session,
        update(Quota)
        .where(Quota.user_id == user_id, Quota.reset_at <= now)
        .values(used_today=0, reset_at=next_midnight(now)),
    )


async def _refund(session: AsyncSession, user_id: int, amount: int) -> bool:
    """Give `amount` back to today's use; what exceeds it becomes extra credits."""
    if amount < 0:
        raise ValueError(f"cannot refund a negative amount ({amount})")
    covered: ColumnElement[bool] = Quota.used_today >= amount
    changed = await _execute(
        session,
        update(Quota)
        .where(Quota.user_id == user_id)
        .values(
            used_today=case((covered, Quota.used_today - amount), else_=0),
            extra_credits=case(
                (covered, Quota.extra_credits),
                else_=Quota.extra_credits + (amount - Quota.used_today),
            ),
        ),
    )
    return changed == 1


async def _merge_user(session: AsyncSession, old_id: int, target: User) -> None:
    """Move everything of user `old_id` onto `target` and delete the old user."""
    old = await _get_user(session, old_id)
    for table in (Account, Job, Image, PromptHistory, LinkCode):
        await _execute(
            session, update(table).where(table.user_id == old_id).values(user_id=target.id)
        )
    old_quota = await _get_quota(session, old_id)
    if old_quota.extra_credits > 0:
        await _execute(
            session,
            update(Quota)
            .where(Quota.user_id == target.id)
            .values(extra_credits=Quota.extra_credits + old_quota.extra_credits),
        )
    if old.banned and not target.banned:
        await _execute(
            session,
            update(User).where(User.id == target.id).values(banned=True, ban_reason=old.ban_reason),
        )
    await _execute(session, delete(User).where(User.id == old_id))


def _job_record(job: Job, blobs: list[bytes], image_ids: tuple[int, ...]) -> JobRecord:
    return JobRecord(
        id=job.id,
        user_id=job.user_id,
        status=JobStatus(job.status),
        request=GenerationRequest.from_record(job.request, blobs),
        destination=job.destination,
        cost=job.cost,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        progress_ref=job.progress_ref,
        image_ids=image_ids,
    )
