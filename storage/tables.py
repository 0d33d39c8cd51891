"""The ORM tables. The initial migration (`storage/migrations/versions`) creates the same schema.

Only the repositories of this package use these classes; everything outside it gets plain
records (`storage.records`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, the same on SQLite and PostgreSQL, so later migrations can
# name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps `timestamp with time zone`; SQLite keeps text without an offset, so
    values are converted to UTC on the way in and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class User(Base):
    """One person; several platform accounts may point at it."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(35))
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    ban_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Account(Base):
    """A platform account (Discord or Telegram id) of a user."""

    __tablename__ = "accounts"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class Setting(Base):
    """A user's defaults; NULL means the bot's default."""

    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    default_model: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None]
    height: Mapped[int | None]
    steps: Mapped[int | None]
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))


class Quota(Base):
    """A user's allowance; changed only by single conditional UPDATE statements."""

    __tablename__ = "quotas"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    daily_limit: Mapped[int]
    used_today: Mapped[int] = mapped_column(default=0)
    extra_credits: Mapped[int] = mapped_column(default=0)
    reset_at: Mapped[datetime]


class Job(Base):
    """A generation job; `request` is `GenerationRequest.to_record()`'s dict."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),
        # Untold jobs are looked for every second: few rows have told_at empty.
        Index("ix_jobs_told_at_status", "told_at", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]]
    destination: Mapped[dict[str, Any]]
    progress_ref: Mapped[dict[str, Any] | None]
    cost: Mapped[int]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    told_at: Mapped[datetime | None]  # when the owner was told how it ended
    source: Mapped[str | None] = mapped_column(String(160), unique=True)  # e.g. its update


class JobInput(Base):
    """A picture a job's request refers to by index (kept in the database, not on disk)."""

    __tablename__ = "job_inputs"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Image(Base):
    """A result image; the PNG itself is a file under the data directory."""

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("job_id", "position", name="uq_images_job_id_position"),
        Index("ix_images_user_id_id", "user_id", "id"),
        Index("ix_images_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    recipe: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    flag: Mapped[str | None] = mapped_column(String(16))  # storage.records.ImageFlag


class PromptHistory(Base):
    """One row per finished job: what the user asked for."""

    __tablename__ = "prompt_history"
    __table_args__ = (Index("ix_prompt_history_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """An admin action, allowed or refused."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(Boolean)


class LinkCode(Base):
    """A single-use code that links another platform account to a user."""

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]


class BotState(Base):
    """A fact every frontend shares (e.g. `pause`: intake paused, with its message)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class PendingInit(Base):
    """The picture a user chose with /init for their next command: a result or an upload."""

    __tablename__ = "pending_inits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    picture: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Worker(Base):
    """A process that holds pipelines: what it serves and has loaded, and when it was seen."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    device: Mapped[str] = mapped_column(String(64))
    families: Mapped[list[str]] = mapped_column(JSON)
    loaded: Mapped[list[str]] = mapped_column(JSON)
    seen_at: Mapped[datetime]


class WorkerRequest(Base):
    """An admin request every worker carries out once (`preload` or `unload` a family)."""

    __tablename__ = "worker_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    family: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class WorkerReply(Base):
    """One worker's answer to a `WorkerRequest`."""

    __tablename__ = "worker_replies"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("worker_requests.id", ondelete="CASCADE"), primary_key=True
    )
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    result: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class InboxEntry(Base):
    """Something a platform delivered (a Telegram update, ...), stored before it is
    acknowledged and marked done once the bot has stored its job or answered it."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "key", name="uq_inbox_platform_key"),
        Index("ix_inbox_done_at_id", "done_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to a user, kept until the platform took it (or refused it for good).

    `key` makes a message idempotent (e.g. `job:12:result`): a second one with the same key
    is not queued again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_status_next_at", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Speed(Base):
    """How fast a device runs a model family's task at a size (a bucket of pixel counts),
    from the jobs that finished there: moving averages, per image."""

    __tablename__ = "speeds"

    family: Mapped[str] = mapped_column(String(16), primary_key=True)
    task: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    pixels: Mapped[float] = mapped_column(Float)
    step_seconds: Mapped[float] = mapped_column(Float)
    other_seconds: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class FilterWord(Base):
    """A word or phrase of the operator's prompt filter: its matched (normalised) form and
    the form the admin typed."""

    __tablename__ = "filter_words"

    word: Mapped[str] = mapped_column(String(200), primary_key=True)
    shown: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PlacePolicy(Base):
    """What a chat or channel does with a flagged picture (`allow`, `spoiler`, `block`)."""

    __tablename__ = "place_policies"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class Flag(Base):
    """An entry of the moderation stream: a flagged result, a refused prompt, a report."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    place: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
