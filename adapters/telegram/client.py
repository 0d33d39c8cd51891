"""The connection to the Bot API: python-telegram-bot's `Application`, built and paced once.

`TelegramClient` builds the application (rate limiter, HTTP clients, the adapter's
handlers; no `Updater`: `updates` receives and stores the updates itself), makes sure the
bot can send before anything goes out (`ready`), keeps the background tasks, and awaits Bot
API calls so that a Telegram or network error is logged and never raised (`guarded`). The
adapter drives it through its lifecycle (`adapter`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from adapters.telegram.config import TelegramConfig

log = logging.getLogger(__name__)

T = TypeVar("T")
UpdateHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ErrorHandler = Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class TelegramClient:
    """python-telegram-bot's application, with readiness, guarded calls and background tasks."""

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self._requests = (HTTPXRequest(connection_pool_size=256), HTTPXRequest())
        self.application = self._build()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self.initialized = False
        self.stopped = False

    @property
    def bot(self) -> ExtBot[Any]:
        """The Bot API client."""
        return self.application.bot

    def _build(self) -> Application[ExtBot[Any], Any, Any, Any, Any, Any]:
        limits, base = self.config.limits, self.config.base_url.rstrip("/")
        limiter = AIORateLimiter(
            overall_max_rate=limits.messages_per_second,
            group_max_rate=limits.group_messages_per_minute,
            max_retries=limits.retries,
        )
        return (
            ApplicationBuilder()
            .token(self.config.token)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .updater(None)
            .rate_limiter(limiter)
            .job_queue(None)
            .build()
        )

    def route(self, message: UpdateHandler, button: UpdateHandler, error: ErrorHandler) -> None:
        """Send messages (text, photos, files), button presses and handler errors on."""
        pictures = filters.TEXT | filters.PHOTO | filters.Document.ALL
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & pictures, message))
        self.application.add_handler(CallbackQueryHandler(button))
        self.application.add_error_handler(error)

    # -- sending ----------------------------------------------------------------------------
    async def ready(self, *, required: bool = False) -> bool:
        """Make sure the bot can send (answers may come before `run`); False once stopped."""
        if self.stopped:
            log.warning("Telegram: adapter stopped; a message was not sent")
            return False
        async with self._lock:
            if self.initialized:
                return True
            try:
                await self.bot.initialize()
            except InvalidToken:
                await self._close_requests()
                # Its message quotes the token; this one must not.
                raise InvalidToken("the Bot API server rejected the Telegram token") from None
            except TelegramError:
                if required:
                    await self._close_requests()
                    raise
                log.warning("Telegram: cannot reach the Bot API; a message was not sent")
                return False
            self.initialized = True
        return True

    async def _close_requests(self) -> None:
        """Close the HTTP clients when start-up fails (PTB only closes what it initialized)."""
        await asyncio.gather(*(request.shutdown() for request in self._requests))

    @staticmethod
    async def guarded(call: Awaitable[T], what: str) -> T | None:
        """Await a Bot API call; a Telegram or network error is logged, not raised."""
        try:
            return await call
        except TelegramError as error:
            log.warning("Telegram: could not %s: %s", what, error)
            return None

    # -- background tasks -------------------------------------------------------------------
    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coroutine` in the background until it ends or the client stops."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop_tasks(self) -> None:
        """Stop sending: cancel the background tasks and wait for them."""
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
