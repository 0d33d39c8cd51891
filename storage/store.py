"""The store: the one object the bot keeps its data with.

`Store.open` connects (SQLAlchemy 2 async over SQLite by default, or PostgreSQL via
`KBOT_DATABASE_URL`), applies the Alembic migrations and hands out a store whose methods
delegate to one repository per aggregate (see the package docstring). Output images live as
files under the data folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from generation.request import GenerationRequest
from storage import migrate
from storage.audit import AuditLog
from storage.db import Database, StoreError, create_engine, prepare_folders
from storage.images import Images
from storage.inbox import Inbox
from storage.intake import Intake
from storage.jobs import UNTOLD_WITHIN, Jobs
from storage.outbox import Outbox
from storage.quotas import Quotas
from storage.records import (
    AccountRecord,
    Admission,
    AuditRecord,
    FilterRules,
    FlagKind,
    FlagRecord,
    FlagStatus,
    ImageRecord,
    InboxRecord,
    JobRecord,
    JobStatus,
    OutboxDraft,
    OutboxRecord,
    QuotaRecord,
    SpeedRecord,
    Stats,
    UserRecord,
    UserSettings,
)
from storage.safety import Safety
from storage.speeds import Speeds
from storage.state import State
from storage.users import Users

__all__ = ["Store", "StoreError"]


class Store:
    """Async access to everything the bot keeps. Build with `await Store.open(...)`.

    Methods that take an id a user typed treat one that cannot exist (below 1, or too big
    for the database) as unknown: None, False or StoreError, as for any unknown id.
    """

    def __init__(self, engine: AsyncEngine, data_dir: Path, default_daily_limit: int) -> None:
        """Wrap a migrated engine; use `Store.open`, which also migrates."""
        self._db = Database(engine)
        self._data_dir = data_dir
        self._users = Users(self._db, default_daily_limit)
        self._quotas = Quotas(self._db)
        self._images = Images(self._db, data_dir)
        self._jobs = Jobs(self._db, self._images)
        self._intake = Intake(self._db)
        self._inbox = Inbox(self._db)
        self._state = State(self._db)
        self._audit = AuditLog(self._db)
        self._outbox = Outbox(self._db)
        self._speeds = Speeds(self._db)
        self._safety = Safety(self._db)

    @classmethod
    async def open(cls, url: str, data_dir: Path, *, default_daily_limit: int = 50) -> Store:
        """Connect, apply migrations, and return the store."""
        parsed = migrate.async_url(url)
        data_dir = await asyncio.to_thread(prepare_folders, parsed, data_dir)
        engine = create_engine(parsed)
        store = cls(engine, data_dir, default_daily_limit)
        try:
            await migrate.upgrade(store._db.write_engine)
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def close(self) -> None:
        """Dispose of the engine."""
        await self._db.close()

    @property
    def engine(self) -> AsyncEngine:
        """The engine (for admin tools and tests; the store's methods are the API)."""
        return self._db.engine

    @property
    def data_dir(self) -> Path:
        """The folder that holds the image files."""
        return self._data_dir

    # users, accounts, settings, bans, linking (storage.users)
    async def ensure_user(
        self, platform: str, platform_user_id: str, name: str, language: str | None = None
    ) -> UserRecord:
        """Return the user behind this platform account, creating both (and a quota) if new."""
        return await self._users.ensure(platform, platform_user_id, name, language)

    async def find_user(self, platform: str, platform_user_id: str) -> UserRecord | None:
        """Return the user behind a platform account, or None."""
        return await self._users.find(platform, platform_user_id)

    async def get_user(self, user_id: int) -> UserRecord:
        """Return a user by id (StoreError if unknown)."""
        return await self._users.get(user_id)

    async def accounts(self, user_id: int) -> list[AccountRecord]:
        """The platform accounts of a user (StoreError if the user is unknown)."""
        return await self._users.accounts(user_id)

    async def set_ban(self, user_id: int, banned: bool, reason: str | None = None) -> None:
        """Ban or unban a user."""
        await self._users.set_ban(user_id, banned, reason)

    async def get_settings(self, user_id: int) -> UserSettings:
        """Return a user's defaults."""
        return await self._users.settings(user_id)

    async def update_settings(self, user_id: int, **changes: Any) -> UserSettings:
        """Change some defaults (a None value clears one); return them all."""
        return await self._users.update_settings(user_id, **changes)

    async def create_link_code(self, user_id: int, code: str, expires_at: datetime) -> None:
        """Store a single-use code that links another account to `user_id` until `expires_at`."""
        await self._users.create_link_code(user_id, code, expires_at)

    async def redeem_link_code(
        self,
        code: str,
        platform: str,
        platform_user_id: str,
        name: str,
        now: datetime | None = None,
    ) -> UserRecord | None:
        """Link this account to the code's user (merging users); None for a bad code."""
        return await self._users.redeem_link_code(code, platform, platform_user_id, name, now)

    # quotas (storage.quotas)
    async def quota(self, user_id: int, now: datetime | None = None) -> QuotaRecord:
        """Return the quota, after the daily reset if it is due."""
        return await self._quotas.get(user_id, now)

    async def reserve_quota(self, user_id: int, amount: int, now: datetime | None = None) -> bool:
        """Take `amount` with one conditional UPDATE; False when not enough is left."""
        return await self._quotas.reserve(user_id, amount, now)

    async def refund_quota(self, user_id: int, amount: int) -> None:
        """Give back `amount` (a failed or cancelled job)."""
        await self._quotas.refund(user_id, amount)

    async def set_daily_limit(self, user_id: int, limit: int) -> QuotaRecord:
        """Set a user's daily limit."""
        return await self._quotas.set_daily_limit(user_id, limit)

    async def grant_credits(self, user_id: int, credits: int) -> QuotaRecord:
        """Add extra credits that do not reset (a negative grant takes some, down to 0)."""
        return await self._quotas.grant_credits(user_id, credits)

    async def reset_quota(self, user_id: int) -> QuotaRecord:
        """Set today's use back to zero."""
        return await self._quotas.reset(user_id)

    # intake (storage.intake) and shared state (storage.state)
    async def admit_job(
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
        """Refuse (paused, queue caps, quota), or reserve `cost` and store the job; atomic.

        `source` names what the job came from (e.g. `telegram:update:12`): a second
        admission of one source is that first job, marked `duplicate`, and takes nothing.
        """
        return await self._intake.admit(
            user_id,
            request,
            destination,
            cost,
            queue_size=queue_size,
            user_queue=user_queue,
            source=source,
            now=now,
        )

    async def set_pause(self, message: str | None) -> None:
        """Pause intake for every frontend with `message` (may be ""); None opens it again."""
        await self._state.set_pause(message)

    async def pause_message(self) -> str | None:
        """The pause message, or None when intake is open."""
        return await self._state.pause_message()

    async def set_pending_init(
        self, user_id: int, *, image_id: int | None = None, picture: bytes | None = None
    ) -> None:
        """Keep a stored image or a picture (exactly one) for the user's next command."""
        await self._state.set_pending_init(user_id, image_id=image_id, picture=picture)

    async def take_pending_init(self, user_id: int) -> int | bytes | None:
        """Take (and remove) the image id or picture kept for the user; None if none."""
        return await self._state.take_pending_init(user_id)

    # the inbox (storage.inbox): what platforms delivered, until it is handled
    async def receive(self, platform: str, items: Sequence[tuple[str, str]]) -> list[InboxRecord]:
        """Store `(key, payload)` pairs at once, before they are acknowledged; the new ones.

        A key stored before is left as it is and not returned: the caller handles what is
        returned, and a redelivery is not handled twice.
        """
        return await self._inbox.receive(platform, items)

    async def take_unhandled(self, platform: str) -> list[InboxRecord]:
        """Take over what was received but not handled (a process died), oldest first."""
        return await self._inbox.take_unhandled(platform)

    async def mark_handled(self, entry_id: int, error: str | None = None) -> bool:
        """Note that an inbox entry was handled (or given up, with `error`)."""
        return await self._inbox.mark_handled(entry_id, error)

    async def forget_handled(self, platform: str, before: datetime) -> int:
        """Delete inbox entries handled before `before`; how many."""
        return await self._inbox.forget_handled(platform, before)

    # jobs (storage.jobs)
    async def create_job(
        self, user_id: int, request: GenerationRequest, destination: dict[str, Any], cost: int
    ) -> JobRecord:
        """Store a queued job (the request's pictures included); no checks, see `admit_job`."""
        return await self._jobs.create(user_id, request, destination, cost)

    async def get_job(self, job_id: int) -> JobRecord | None:
        """Return a job, or None."""
        return await self._jobs.get(job_id)

    async def get_jobs(self, job_ids: Sequence[int]) -> list[JobRecord]:
        """The jobs of these ids that exist, in the order given (one read)."""
        return await self._jobs.get_many(job_ids)

    async def set_progress_ref(self, job_id: int, ref: dict[str, Any]) -> None:
        """Remember which message shows the job's progress."""
        await self._jobs.set_progress_ref(job_id, ref)

    async def mark_running(self, job_id: int) -> bool:
        """queued -> running (attempts + 1); False if the job was not queued."""
        return await self._jobs.mark_running(job_id)

    async def start_jobs(self, job_ids: Sequence[int]) -> list[JobRecord]:
        """queued -> running (attempts + 1) for each, in one transaction; the jobs that were
        queued, as stored now, in the order given."""
        return await self._jobs.start(job_ids)

    async def requeue(self, job_id: int) -> bool:
        """running -> queued (after a restart); False if it was not running."""
        return await self._jobs.requeue(job_id)

    async def mark_done(
        self,
        job_id: int,
        images: list[tuple[bytes, dict[str, Any]]],
        flagged: Sequence[float | None] = (),
    ) -> list[ImageRecord]:
        """running -> done: write the PNGs, record images and prompt history; an image whose
        `flagged` score (by position) is not None is stored flagged, in the moderation stream."""
        return await self._jobs.mark_done(job_id, images, flagged)

    async def mark_failed(self, job_id: int, error: str) -> bool:
        """queued/running -> failed and refund its cost; False if it had already ended."""
        return await self._jobs.mark_failed(job_id, error)

    async def cancel_job(self, job_id: int) -> bool:
        """queued -> cancelled and refund its cost; False if it was not queued."""
        return await self._jobs.cancel(job_id)

    async def claim_telling(self, job_id: int) -> bool:
        """Note that a finished job's owner is being told how it ended; False if already."""
        return await self._jobs.claim_telling(job_id)

    async def untold_jobs(self, within: timedelta = UNTOLD_WITHIN) -> list[JobRecord]:
        """Jobs that ended (done or failed) in the last `within` with their owner not told."""
        return await self._jobs.untold(within)

    async def jobs(
        self, statuses: tuple[JobStatus, ...], user_id: int | None = None
    ) -> list[JobRecord]:
        """Jobs with these statuses (of one user, or all), oldest first."""
        return await self._jobs.with_status(statuses, user_id)

    async def count_active(self, user_id: int | None = None) -> int:
        """Queued or running jobs (of one user, or all)."""
        return await self._jobs.count_active(user_id)

    # images, history, figures (storage.images) and the audit log (storage.audit)
    async def get_image(self, image_id: int) -> ImageRecord | None:
        """Return an image record, or None."""
        return await self._images.get(image_id)

    async def job_image(self, job_id: int, position: int) -> ImageRecord | None:
        """Return the `position`th image (from 0) job `job_id` made, or None."""
        return await self._images.of_job(job_id, position)

    async def find_image(self, user_id: int, sha256: str) -> ImageRecord | None:
        """Return the user's first image whose PNG has this SHA-256 (hex), or None."""
        return await self._images.with_digest(user_id, sha256)

    async def read_image(self, image: ImageRecord) -> bytes:
        """Return the PNG bytes of a stored image."""
        return await self._images.read(image)

    async def history(
        self, user_id: int, page: int = 1, per_page: int = 10
    ) -> tuple[list[ImageRecord], int]:
        """A page of the user's images, newest first, and the number of pages (0 for none)."""
        return await self._images.history(user_id, page, per_page)

    async def stats(self, now: datetime | None = None) -> Stats:
        """Users, jobs by status, images today, p50/p95 wait and run seconds."""
        return await self._images.stats(now)

    # measured speeds (storage.speeds)
    async def record_speed(
        self,
        family: str,
        task: str,
        device: str,
        pixels: int,
        step_seconds: float,
        other_seconds: float,
    ) -> SpeedRecord:
        """Add a measurement, per image, to the speeds of `device` for `task` of `family` at
        sizes like `pixels`; return what is known now."""
        return await self._speeds.record(family, task, device, pixels, step_seconds, other_seconds)

    async def speeds(self) -> list[SpeedRecord]:
        """Every measured speed."""
        return await self._speeds.all()

    async def audit(self, actor: str, action: str, target: str, detail: str, allowed: bool) -> None:
        """Record an admin action or a refused attempt."""
        await self._audit.add(actor, action, target, detail, allowed)

    async def audit_log(self, limit: int = 20) -> list[AuditRecord]:
        """The latest audit entries, newest first."""
        return await self._audit.latest(limit)

    # messages to users on their way (storage.outbox)
    async def post_messages(
        self,
        drafts: Sequence[OutboxDraft],
        *,
        hold: timedelta | None = None,
        tell_job: int | None = None,
    ) -> list[OutboxRecord]:
        """Store messages for delivery (a stored key is skipped); return those stored.

        `hold`: claim the new ones for that long (the caller sends them now). `tell_job`:
        mark that job told in the same transaction; nothing is stored if it was told already.
        """
        return await self._outbox.post(drafts, hold=hold, tell_job=tell_job)

    async def due_messages(self, platforms: Collection[str], limit: int = 50) -> list[OutboxRecord]:
        """Messages to these platforms whose next try is due, oldest first."""
        return await self._outbox.due(platforms, limit)

    async def claim_message(self, message_id: int, hold: timedelta) -> OutboxRecord | None:
        """Take a due message for one try, held for `hold`; None if not due or taken."""
        return await self._outbox.claim(message_id, hold)

    async def message_sent(self, message_id: int) -> None:
        """The platform took the message."""
        await self._outbox.sent(message_id)

    async def retry_message(
        self, message_id: int, at: datetime, error: str, payload: dict[str, Any]
    ) -> None:
        """A try failed: try again at `at`, with `payload` (what the try noted)."""
        await self._outbox.retry(message_id, at, error, payload)

    async def fail_message(self, message_id: int, error: str) -> None:
        """The message will never go."""
        await self._outbox.fail(message_id, error)

    async def release_messages(self, message_ids: Collection[int] | None = None) -> int:
        """Make held messages due now: these, or (None) all of them."""
        return await self._outbox.release(message_ids)

    async def take_undelivered(self, user_id: int, kind: str) -> int:
        """How many of the user's messages of `kind` failed since they were last told (they
        count as told from now on)."""
        return await self._outbox.take_undelivered(user_id, kind)

    async def messages_waiting(self, platforms: Collection[str]) -> int:
        """How many messages to these platforms are still on their way."""
        return await self._outbox.waiting(platforms)

    async def next_message_try(self, platforms: Collection[str]) -> datetime | None:
        """When the soonest retry of a message to these platforms is due, if any waits."""
        return await self._outbox.next_try(platforms)

    async def outbox_message(self, key: str) -> OutboxRecord | None:
        """The message stored with this key, if any."""
        return await self._outbox.find(key)

    async def prune_outbox(self, before: datetime, keep_kind: str) -> int:
        """Forget messages settled before `before`, but failed ones of `keep_kind`."""
        return await self._outbox.prune(before, keep_kind)

    # the content filter: prompt words, place policies, the moderation stream (storage.safety)
    async def add_filter_word(self, word: str, shown: str, actor: str) -> bool:
        """List a prompt word in its matched form; False when it was listed."""
        return await self._safety.add_word(word, shown, actor)

    async def remove_filter_word(self, word: str) -> bool:
        """Unlist a prompt word (matched form); False when it was not listed."""
        return await self._safety.remove_word(word)

    async def filter_words(self) -> list[str]:
        """The listed prompt words as admins typed them."""
        return await self._safety.words()

    async def filter_rules(self) -> FilterRules:
        """What the prompt filter matches: the listed words, and the built-in list's switch."""
        return await self._safety.rules()

    async def set_filter_defaults(self, on: bool) -> None:
        """Switch the built-in prompt list on or off."""
        await self._safety.set_defaults(on)

    async def set_place_policy(self, platform: str, chat_id: str, policy: str) -> None:
        """What a chat or channel does with flagged pictures."""
        await self._safety.set_policy(platform, chat_id, policy)

    async def place_policy(self, platform: str, chat_id: str) -> str | None:
        """A place's policy for flagged pictures; None when none was set."""
        return await self._safety.policy(platform, chat_id)

    async def add_flag(
        self,
        kind: FlagKind,
        user_id: int,
        place: str,
        *,
        job_id: int | None = None,
        image_id: int | None = None,
    ) -> FlagRecord:
        """Put a refused prompt or a reported result in the moderation stream."""
        return await self._safety.add_flag(kind, user_id, place, job_id=job_id, image_id=image_id)

    async def flags(self, limit: int = 20) -> list[FlagRecord]:
        """The latest entries of the moderation stream, newest first."""
        return await self._safety.flags(limit)

    async def get_flag(self, flag_id: int) -> FlagRecord | None:
        """One entry of the moderation stream, or None."""
        return await self._safety.get_flag(flag_id)

    async def resolve_flag(self, flag_id: int, status: FlagStatus, actor: str) -> FlagRecord | None:
        """Close an open entry (clearing its image); None when unknown or closed already."""
        return await self._safety.resolve_flag(flag_id, status, actor)
