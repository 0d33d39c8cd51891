"""What every command handler receives: who asked, in which language, and the bot's services.

Answers go through the outbox (`bot.delivery`): stored, then sent at once and retried until
delivered; each is keyed by the command's source and its number, so a command handled twice
is answered once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat.command import Command
from bot.chat.menu import CommandInfo
from bot.chat.replier import Replier
from bot.control.port import EngineControl
from bot.delivery.outbox import Outbox, reply_key, text_draft
from bot.i18n.catalogue import text
from bot.jobs.notify import Notifier
from bot.jobs.port import JobQueue
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest, Limits
from storage.records import UserRecord, UserSettings
from storage.store import Store


@dataclass(frozen=True, slots=True)
class BotConfig:
    """The bot's own settings (from `bot.app.settings.Settings`)."""

    admins: frozenset[str] = frozenset()
    default_model: str = DEFAULT_FAMILIES.default
    default_size: int = 768
    default_steps: int | None = None  # None: each family's own
    limits: Limits = field(default_factory=Limits)
    queue_size: int = 100
    user_queue: int = 5
    video_cost: int = 5  # credits per 5 seconds of video
    families: tuple[str, ...] = DEFAULT_FAMILIES.names()  # those with checkpoints here
    registry: Families = DEFAULT_FAMILIES
    link_minutes: int = 10
    max_upload_bytes: int = 20 * 1024 * 1024
    max_upload_pixels: int = 40_000_000
    safety: str = "both"  # KBOT_SAFETY as it applies here: off, prompts, images or both


@dataclass(frozen=True, slots=True)
class Services:
    """The bot's collaborators, built by the composition root."""

    store: Store
    queue: JobQueue
    notifier: Notifier
    outbox: Outbox
    engine: EngineControl
    config: BotConfig
    repliers: Mapping[str, Replier]
    prepare: Callable[[GenerationRequest], GenerationRequest]
    menu: tuple[CommandInfo, ...] = ()


@dataclass(slots=True)
class Context:
    """One command being handled: who sent it, in which language, and how to answer."""

    services: Services
    command: Command
    user: UserRecord
    language: str
    replies: int = 0
    """How many answers the command has had (the number in each answer's key)."""
    _settings: UserSettings | None = field(default=None, repr=False)

    async def settings(self) -> UserSettings:
        """The user's settings, as they were when the command was first asked for them
        (read once per command)."""
        if self._settings is None:
            self._settings = await self.store.get_settings(self.user.id)
        return self._settings

    @property
    def store(self) -> Store:
        """The store."""
        return self.services.store

    @property
    def config(self) -> BotConfig:
        """The bot's settings."""
        return self.services.config

    @property
    def is_admin(self) -> bool:
        """Whether the sender is listed in KBOT_ADMINS."""
        return self.command.actor in self.services.config.admins

    def owns(self, user_id: int) -> bool:
        """Whether the sender may act on what `user_id` owns (their own, or any as admin)."""
        return user_id == self.user.id or self.is_admin

    def replier(self) -> Replier:
        """The replier of the command's platform (for its status message, best effort)."""
        return self.services.repliers[self.command.platform]

    def t(self, key: str, /, **values: Any) -> str:
        """A sentence in the user's language."""
        return text(self.language, key, **values)

    async def reply(self, key: str, /, **values: Any) -> None:
        """Answer with the catalogue sentence `key`."""
        await self.reply_text(self.t(key, **values))

    async def reply_text(self, message: str) -> None:
        """Answer with a ready sentence (through the outbox: sent now, retried if need be)."""
        self.replies += 1
        draft = text_draft(
            self.command.destination, message, key=reply_key(self.command, self.replies)
        )
        await self.services.outbox.send(draft)

    async def ask(self, key: str, /, **values: Any) -> None:
        """Ask the catalogue question `key`, answered by replying to it
        (`Destination.asking`)."""
        self.replies += 1
        draft = text_draft(
            self.command.destination.asking(),
            self.t(key, **values),
            key=reply_key(self.command, self.replies),
        )
        await self.services.outbox.send(draft)
