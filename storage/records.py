"""Plain records the store returns: frozen dataclasses, never ORM objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from generation.media import VIDEO_SUFFIX
from generation.request import GenerationRequest


class JobStatus(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
TOLD = (JobStatus.DONE, JobStatus.FAILED)  # the ends an owner is told about


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One person (an identity); several platform accounts may point at it."""

    id: int
    name: str
    language: str | None
    banned: bool
    ban_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A platform account of a user."""

    platform: str
    platform_user_id: str
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class UserSettings:
    """Per-user defaults; None means the bot's default."""

    default_model: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    negative_prompt: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class QuotaRecord:
    """A user's allowance: `daily_limit` per day plus `extra_credits` that do not reset."""

    daily_limit: int
    used_today: int
    extra_credits: int
    reset_at: datetime

    @property
    def remaining(self) -> int:
        """Images the user can still order now."""
        return max(self.daily_limit - self.used_today, 0) + self.extra_credits


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A generation job: what to make, for whom, where to answer, and how it went."""

    id: int
    user_id: int
    status: JobStatus
    request: GenerationRequest
    destination: dict[str, Any]
    cost: int
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    progress_ref: dict[str, Any] | None = None
    image_ids: tuple[int, ...] = field(default=())
    source: str | None = None
    """What the job came from (`bot.chat.command.Command.source`), if it was named."""


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """A stored result image (or video): the `position`th (from 0) of the `count` its job
    made."""

    id: int
    job_id: int
    user_id: int
    sha256: str
    path: Path
    recipe: dict[str, Any]
    created_at: datetime
    position: int
    count: int
    flag: str | None = None
    """None, or an `ImageFlag`: what the image check or the moderation said of it."""

    @property
    def is_video(self) -> bool:
        """Whether this result is a video (its file an MP4), which no command starts from."""
        return self.path.suffix == VIDEO_SUFFIX


class ImageFlag(enum.StrEnum):
    """What the image check, a user or an admin said of a result."""

    FLAGGED = "flagged"  # the image check flagged it
    REPORTED = "reported"  # a user reported it
    CLEARED = "cleared"  # an admin found it fine


class FlagKind(enum.StrEnum):
    """What put an entry in the moderation stream."""

    IMAGE = "image"  # the image check flagged a result
    PROMPT = "prompt"  # the prompt filter refused a command
    REPORT = "report"  # a user reported a result


class FlagStatus(enum.StrEnum):
    """Where an entry of the moderation stream stands."""

    OPEN = "open"
    CLEARED = "cleared"  # a false positive: the picture went to its owner
    BANNED = "banned"  # its user was banned


@dataclass(frozen=True, slots=True)
class FlagRecord:
    """An entry of the moderation stream: who, where (`platform:chat`), what it was about
    (a job and an image, for results), the image check's `score`, and where it stands. A
    refused prompt's entry keeps no text of the prompt."""

    id: int
    at: datetime
    kind: FlagKind
    user_id: int
    place: str
    status: FlagStatus
    job_id: int | None = None
    image_id: int | None = None
    score: float | None = None
    resolved_by: str | None = None


@dataclass(frozen=True, slots=True)
class FilterRules:
    """The operator's prompt words (matched forms), and whether the built-in list is on."""

    words: tuple[str, ...] = ()
    defaults: bool = True


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One admin action, allowed or refused."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    allowed: bool


@dataclass(frozen=True, slots=True)
class Stats:
    """Figures for the admin `stats` command."""

    users: int
    jobs_by_status: dict[str, int]
    images_today: int
    wait_p50: float | None
    wait_p95: float | None
    run_p50: float | None
    run_p95: float | None


@dataclass(frozen=True, slots=True)
class Admission:
    """What became of a request to queue a job: the stored job, or why it was refused.

    `refusal` is None for an admitted job, else one of "paused" (`values`: message),
    "queue_full" (size), "user_queue_full" (count, limit) or "quota" (limit; `quota` is the
    user's quota). `duplicate` is True when a job from the same source was stored before:
    `job` is that job, and nothing was taken or stored this time.
    """

    job: JobRecord | None
    refusal: str | None
    values: dict[str, Any] = field(default_factory=dict)
    quota: QuotaRecord | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """Something a platform delivered, stored until it is handled.

    `key` names it on its platform (a Telegram update id); `payload` is what arrived (JSON
    text); `attempts` counts the processes that took it on, this one included.
    """

    id: int
    platform: str
    key: str
    payload: str = field(repr=False)
    attempts: int
    received_at: datetime


class OutboxStatus(enum.StrEnum):
    """Where a message to a user is on its way."""

    PENDING = "pending"  # waiting for its next try (at `next_at`)
    SENDING = "sending"  # a sender holds it until `next_at`; after that anyone may try it
    SENT = "sent"  # the platform took it
    FAILED = "failed"  # refused for good, or given up on; a result's owner is owed a word
    REPORTED = "reported"  # failed, and its owner was told


@dataclass(frozen=True, slots=True)
class OutboxDraft:
    """A message to store in the outbox: what it is (`kind`, `payload`), where it goes, and
    the `key` that makes it idempotent (a second message with a stored key is not stored)."""

    platform: str
    kind: str
    destination: dict[str, Any]
    payload: dict[str, Any]
    key: str | None = None
    user_id: int | None = None
    job_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A stored message to a user and how its delivery goes."""

    id: int
    key: str | None
    platform: str
    user_id: int | None
    job_id: int | None
    kind: str
    destination: dict[str, Any]
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SpeedRecord:
    """How fast `device` runs `task` of model `family` at about `pixels` pixels an image.

    `bucket` groups sizes (see `storage.speeds.bucket`); `pixels` is the average size the
    bucket's measurements had. Per image: `step_seconds` for one decoder step, and
    `other_seconds` for the rest of a call (the prior, decoding, encoding). `samples` counts
    the measurements behind it.
    """

    family: str
    task: str
    bucket: int
    device: str
    pixels: float
    step_seconds: float
    other_seconds: float
    samples: int
    updated_at: datetime
