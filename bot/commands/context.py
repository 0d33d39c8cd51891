"""What every command handler receives: who asked, in which language, and the bot's services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat.command import Command
from bot.chat.menu import CommandInfo
from bot.chat.replier import Replier
from bot.control.port import EngineControl
from bot.i18n.catalogue import text
from bot.jobs.notify import Notifier
from bot.jobs.port import JobQueue
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest, Limits
from storage.records import ImageRecord, UserRecord
from storage.store import Store

MAX_ID = 2**31 - 1  # the largest id a stored row can have, on SQLite and PostgreSQL alike


def stored_id(word: str) -> int | None:
    """The id `word` names (`12` or `#12`); None when no stored row can have it."""
    digits = word.strip().removeprefix("#")
    if not digits.isascii() or not digits.isdigit():
        return None
    significant = digits.lstrip("0")
    if len(significant) > len(str(MAX_ID)):  # and int() refuses thousands of digits
        return None
    value = int(significant or "0")
    return value if 1 <= value <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class BotConfig:
    """The bot's own settings (from `bot.app.settings.Settings`)."""

    admins: frozenset[str] = frozenset()
    default_model: str = DEFAULT_FAMILIES.default
    default_size: int = 768
    limits: Limits = field(default_factory=Limits)
    queue_size: int = 100
    user_queue: int = 5
    families: tuple[str, ...] = DEFAULT_FAMILIES.names()  # those with checkpoints here
    registry: Families = DEFAULT_FAMILIES
    link_minutes: int = 10
    max_upload_bytes: int = 20 * 1024 * 1024
    max_upload_pixels: int = 40_000_000


@dataclass(frozen=True, slots=True)
class Services:
    """The bot's collaborators, built by the composition root."""

    store: Store
    queue: JobQueue
    notifier: Notifier
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
        """The replier of the command's platform."""
        return self.services.repliers[self.command.platform]

    def t(self, key: str, /, **values: Any) -> str:
        """A sentence in the user's language."""
        return text(self.language, key, **values)

    async def reply(self, key: str, /, **values: Any) -> None:
        """Answer with the catalogue sentence `key`."""
        await self.reply_text(self.t(key, **values))

    async def reply_text(self, message: str) -> None:
        """Answer with a ready sentence."""
        await self.replier().send_text(self.command.destination, message)

    async def ask(self, key: str, /, **values: Any) -> None:
        """Ask the catalogue question `key`, answered by replying to it
        (`Destination.asking`)."""
        await self.replier().send_text(self.command.destination.asking(), self.t(key, **values))

    async def owned_image(self, image_id: int, shown: object = None) -> ImageRecord | None:
        """The stored image `image_id` when the sender may act on it; else answer that there
        is no image `shown` (the id by default) and return None.

        Someone else's image gets the same answer as one that does not exist.
        """
        image = await self.store.get_image(image_id)
        if image is None or not self.owns(image.user_id):
            await self.reply("not_found_image", id=image_id if shown is None else shown)
            return None
        return image
