"""`kandinsky-bot run`: every configured chat adapter in one task group, one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.app.root import build_families, build_registry, command_menu, running_bot
from bot.app.settings import Settings, SettingsError
from bot.chat.adapter import Adapter, Handle
from bot.chat.inbox import Inbox
from bot.chat.menu import CommandInfo

if TYPE_CHECKING:
    from adapters.discord.config import DiscordConfig
    from adapters.telegram.config import TelegramConfig

log = logging.getLogger(__name__)


class NoAdapterError(RuntimeError):
    """No chat platform has a token configured."""


class AdapterFailed(RuntimeError):
    """A chat adapter stopped on an error (a rejected token, say); the others were stopped."""


def telegram_config(settings: Settings, commands: Sequence[CommandInfo]) -> TelegramConfig:
    """The Telegram adapter's configuration from the settings."""
    from adapters.telegram.config import TelegramConfig

    if not settings.telegram_token:
        raise SettingsError("KBOT_TELEGRAM_TOKEN is not set")
    return TelegramConfig(
        token=settings.telegram_token,
        commands=tuple(commands),
        base_url=settings.telegram_base_url,
        webhook_url=settings.telegram_webhook_url,
        listen=settings.telegram_listen,
        private_prompts=settings.telegram_private_prompts,
        max_download=settings.max_upload_bytes,
        upload_limit=settings.telegram_upload_limit,
    )


def discord_config(settings: Settings, commands: Sequence[CommandInfo]) -> DiscordConfig:
    """The Discord adapter's configuration from the settings (limits and families included)."""
    from adapters.discord.config import DiscordConfig

    if not settings.discord_token:
        raise SettingsError("KBOT_DISCORD_TOKEN is not set")
    return DiscordConfig(
        token=settings.discord_token,
        commands=tuple(commands),
        guilds=settings.discord_guilds,
        shard_count=settings.discord_shard_count,
        shard_ids=settings.discord_shard_ids,
        max_download=settings.max_upload_bytes,
        upload_limit=settings.discord_upload_limit,
        limits=settings.limits,
        default_size=settings.default_size,
        families=tuple(str(family) for family in build_registry(settings).families()),
        registry=build_families(settings),
    )


def build_adapters(settings: Settings, handle: Handle, inbox: Inbox) -> list[Adapter]:
    """The adapters whose tokens are set (Telegram keeps its updates in `inbox`)."""
    commands = command_menu()
    adapters: list[Adapter] = []
    if settings.telegram_token:
        from adapters.telegram.adapter import TelegramAdapter

        adapters.append(TelegramAdapter(handle, telegram_config(settings, commands), inbox))
    if settings.discord_token:
        from adapters.discord.adapter import DiscordAdapter

        adapters.append(DiscordAdapter(handle, discord_config(settings, commands)))
    return adapters


WARM_UP_AFTER = 1.0  # seconds after the adapters start (a job starts the engine sooner)


async def run_adapters(settings: Settings, *, worker: bool = True) -> None:
    """Start the bot and its adapters; stop in order on SIGINT or SIGTERM.

    With `KBOT_QUEUE=procrastinate`, `worker` also runs a GPU worker in this process.
    """
    from bot.app.roles import frontend_extras

    async with running_bot(settings) as app, frontend_extras(settings, worker=worker):
        adapters = build_adapters(settings, app.bot.handle, app.store)
        if not adapters:
            raise NoAdapterError
        for adapter in adapters:
            app.repliers[adapter.platform] = adapter
        await app.queue.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        failures: list[str] = []
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(_serve(adapter, settings, failures, stop)) for adapter in adapters
            ]
            if app.engine is not None:  # warm the engine once the adapters have connected
                loop.call_later(WARM_UP_AFTER, app.engine.start)
            await stop.wait()
            log.info("stopping: the queue first (running jobs are parked), then the adapters")
            await app.queue.stop()
            for task in tasks:
                task.cancel()
    if failures:
        raise AdapterFailed("; ".join(failures))


async def _serve(
    adapter: Adapter, settings: Settings, failures: list[str], stop: asyncio.Event
) -> None:
    """Run one adapter; if it fails, note why (no secrets) and stop the whole process.

    A process with a dead adapter would look healthy while one platform goes unanswered;
    stopping lets the supervisor (systemd, Docker's restart policy) show and retry it.
    """
    try:
        await adapter.run()
    except Exception as error:
        reason = _without_secrets(f"{type(error).__name__}: {error}", settings)
        log.error("the %s adapter stopped: %s", adapter.platform, reason)
        failures.append(f"{adapter.platform}: {reason}")
        stop.set()


def _without_secrets(message: str, settings: Settings) -> str:
    for token in (settings.telegram_token, settings.discord_token):
        if token:
            message = message.replace(token, "***")
            secret = token.partition(":")[2]
            if secret:
                message = message.replace(secret, "***")
    return message
