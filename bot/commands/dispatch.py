"""The bot: turns commands into answers and jobs. Platform-neutral; adapters call `handle`."""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.chat.command import Command
from bot.chat.replier import Replier
from bot.i18n.catalogue import describe_error, normalise_language, text
from bot.jobs.notify import Notifier, human_seconds
from bot.jobs.port import JobQueue
from generation.request import Family, GenerationRequest, Limits, RequestError
from storage.records import UserRecord
from storage.store import Store, StoreError

log = logging.getLogger(__name__)


class EngineControl(Protocol):
    """What admin commands may do to the generation engine."""

    def loaded(self) -> list[str]:
        """Names of loaded pipelines."""
        ...

    async def preload(self, family: Family) -> None:
        """Load a family's text-to-image pipelines."""

    async def unload(self, family: Family | None) -> int:
        """Drop pipelines; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class BotConfig:
    """The bot's own settings (from `bot.app.settings.Settings`)."""

    admins: frozenset[str] = frozenset()
    default_model: Family = Family.K22
    default_size: int = 768
    limits: Limits = field(default_factory=Limits)
    queue_size: int = 100
    user_queue: int = 5
    families: tuple[Family, ...] = tuple(Family)
    link_minutes: int = 10
    max_upload_bytes: int = 20 * 1024 * 1024
    max_upload_pixels: int = 40_000_000


@dataclass(slots=True)
class Context:
    """One command being handled: who sent it, in which language, and how to answer."""

    bot: Bot
    command: Command
    user: UserRecord
    language: str

    @property
    def store(self) -> Store:
        """The store."""
        return self.bot.store

    def t(self, key: str, /, **values: Any) -> str:
        """A sentence in the user's language."""
        return text(self.language, key, **values)

    async def reply(self, key: str, /, **values: Any) -> None:
        """Answer with the catalogue sentence `key`."""
        await self.bot.replier(self.command.platform).send_text(
            self.command.destination, self.t(key, **values)
        )

    async def reply_text(self, message: str) -> None:
        """Answer with a ready sentence."""
        await self.bot.replier(self.command.platform).send_text(self.command.destination, message)


Handler = Callable[[Context], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
ALIASES: dict[str, str] = {}


def command(name: str, *aliases: str) -> Callable[[Handler], Handler]:
    """Register a handler for `/name` (and its aliases)."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        for alias in aliases:
            ALIASES[alias] = name
        return handler

    return register


class Bot:
    """Everything a user or an admin can do, whatever the platform."""

    def __init__(
        self,
        *,
        store: Store,
        queue: JobQueue,
        notifier: Notifier,
        prepare: Callable[[GenerationRequest], GenerationRequest],
        engine: EngineControl,
        config: BotConfig,
        repliers: dict[str, Replier],
    ) -> None:
        self.store = store
        self.queue = queue
        self.notifier = notifier
        self.prepare = prepare
        self.engine = engine
        self.config = config
        self.repliers = repliers
        self.paused: str | None = None
        self.pending_init: dict[int, int | bytes] = {}  # user id -> image id or picture

    def replier(self, platform: str) -> Replier:
        """The replier of a platform."""
        return self.repliers[platform]

    def is_admin(self, command: Command) -> bool:
        """Whether the sender is listed in KBOT_ADMINS."""
        return command.actor in self.config.admins

    async def handle(self, command: Command) -> None:
        """Handle one command; never raises (errors become polite answers and a log line)."""
        from bot.commands import admin  # noqa: F401 - registers the commands
        from bot.commands import user as handlers  # noqa: F401 - registers the commands

        language = normalise_language(command.locale)
        try:
            user = await self.store.ensure_user(
                command.platform, command.user_id, command.user_name, None
            )
            chosen = (await self.store.get_settings(user.id)).language
            language = normalise_language(chosen or user.language or command.locale)
            self.notifier.languages[user.id] = language
            context = Context(self, command, user, language)
            await self._dispatch(context)
        except RequestError as error:
            await self._answer(
                command, language, "bad_input", error=describe_error(error, language)
            )
        except StoreError as error:
            log.warning("store refused %s: %s", command.name, error)
            await self._answer(command, language, "error")
        except Exception:
            log.exception("command /%s from %s failed", command.name, command.actor)
            await self._answer(command, language, "error")

    async def _answer(self, command: Command, language: str, key: str, **values: Any) -> None:
        try:
            await self.replier(command.platform).send_text(
                command.destination, text(language, key, **values)
            )
        except Exception:
            log.exception("could not answer %s", command.actor)

    async def _dispatch(self, context: Context) -> None:
        name = ALIASES.get(context.command.name.lower(), context.command.name.lower())
        handler = HANDLERS.get(name)
        if handler is None:
            close = difflib.get_close_matches(name, list(HANDLERS), n=1)
            if close:
                await context.reply("unknown_command_suggest", command=name, suggestion=close[0])
            else:
                await context.reply("unknown_command", command=name)
            return
        if context.user.banned and name != "help":
            await context.reply("banned", reason=context.user.ban_reason or "-")
            return
        await handler(context)

    async def submit(self, context: Context, request: GenerationRequest) -> None:
        """Validate, check limits and quota, store the job, queue it, and say so."""
        request = self.prepare(request)
        if self.paused is not None:
            await context.reply("paused", message=self.paused)
            return
        if await self.store.count_active() >= self.config.queue_size:
            await context.reply("queue_full", size=self.config.queue_size)
            return
        mine = await self.store.count_active(context.user.id)
        if mine >= self.config.user_queue:
            await context.reply("user_queue_full", count=mine, limit=self.config.user_queue)
            return
        if not await self.store.reserve_quota(context.user.id, request.num_images):
            quota = await self.store.quota(context.user.id)
            left = (quota.reset_at - datetime.now(UTC)).total_seconds()
            reset = human_seconds(left, context.language)
            await context.reply("quota_exhausted", limit=quota.daily_limit, reset=reset)
            return
        await self._enqueue(context, request)

    async def _enqueue(self, context: Context, request: GenerationRequest) -> None:
        origin = context.command.destination
        # The adapters read the user's language here when they word a result themselves.
        destination = dataclasses.replace(
            origin, extra={**origin.extra, "language": context.language}
        )
        try:
            job = await self.store.create_job(
                context.user.id, request, destination.to_dict(), request.num_images
            )
        except Exception:
            await self.store.refund_quota(context.user.id, request.num_images)
            raise
        position, eta = self.queue.estimate(context.user.id)
        eta_text = human_seconds(eta, context.language)
        message = context.t("queued", job=job.id, position=position, eta=eta_text)
        ref = await self.replier(context.command.platform).send_progress(destination, message, None)
        self.notifier.remember(job.id, ref)
        await self.store.set_progress_ref(job.id, ref)
        await self.queue.submit(job)
