"""Updates in: fetched by long polling or posted to the webhook, stored in the inbox before
Telegram is told they arrived, then handled.

Long polling asks for the next batch only once the last one is stored: `getUpdates` with
the offset past a batch is what confirms that batch to Telegram, so a crash before the
batch is stored makes Telegram send it again. The webhook answers 200 only once the update
is stored (a wrong secret gets 403 and nothing is stored). Every newly stored update goes
through python-telegram-bot's handlers (`Application.process_update`), several at once,
and is marked handled when they have finished: its job stored, or its answer sent.

At start, what the last process stored but did not finish is handled first (a job that was
stored already is not stored again: commands carry their update as `Command.source`); an
update taken on `MAX_ATTEMPTS` times without being handled (a crash each time) is given up.
Network trouble is retried as python-telegram-bot's own polling does (a timeout at once,
flood control after its wait, other errors with a growing pause); a rejected token ends
polling, and `serve` then raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import TelegramConfig
from adapters.telegram.inbound import PLATFORM
from bot.chat.inbox import Inbox, Received

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_ATTEMPTS = 5
"""Processes that may take an update on before it is given up (it crashed each of them)."""
KEEP_HANDLED = timedelta(days=2)
"""How long a handled update is remembered, so that one sent again is not handled twice
(Telegram keeps an unconfirmed update for 24 hours)."""
BOOTSTRAP_RETRIES = 3
MAX_PAUSE = 30.0


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port)."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"listen must be host:port, got {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def webhook_secret(token: str) -> str:
    """The secret Telegram sends with each webhook post: derived from the token, so every
    frontend behind one webhook URL knows it, and nobody without the token can guess it."""
    return hashlib.sha256(f"kandinsky-bot webhook {token}".encode()).hexdigest()


def _rejected() -> InvalidToken:
    # python-telegram-bot's own message may quote the token; this one must not.
    return InvalidToken("the Bot API server rejected the Telegram token")


def _wait_of(error: RetryAfter) -> float:
    """Seconds flood control asks for (python-telegram-bot gives an int or a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        after = error.retry_after
    return after.total_seconds() if isinstance(after, timedelta) else float(after)


class Updates:
    """Receives updates (long polling or a webhook), stores them, and has them handled."""

    def __init__(self, client: TelegramClient, config: TelegramConfig, inbox: Inbox) -> None:
        self.client = client
        self.config = config
        self.inbox = inbox
        self._waiting: asyncio.Queue[Received] = asyncio.Queue()
        self._slots = asyncio.Semaphore(config.concurrent_updates)
        self._handling: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._server: web.AppRunner | None = None
        self._secret = webhook_secret(config.token)
        self._arrivals: dict[str, float] = {}

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Take over what was left unhandled, then start receiving (polling or the webhook)."""
        await self.inbox.forget_handled(PLATFORM, datetime.now(UTC) - KEEP_HANDLED)
        self._hand_over(await self.inbox.take_unhandled(PLATFORM))
        self._tasks.append(asyncio.create_task(self._dispatch(), name="telegram-updates"))
        if self.config.webhook_url is None:
            await self._bootstrap(self.client.bot.delete_webhook, "remove the webhook")
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            self._tasks.append(self._poller)
        else:
            await self._start_webhook(self.config.webhook_url)

    async def serve(self) -> None:
        """Wait until cancelled; raise when long polling stops on its own (token rejected)."""
        if self._poller is None:  # webhook mode: the web server keeps serving
            await asyncio.Future()
            return
        await asyncio.wait([self._poller])
        error = None if self._poller.cancelled() else self._poller.exception()
        if isinstance(error, InvalidToken):
            raise _rejected()
        raise TelegramError(f"long polling stopped: {error or 'it ended'}")

    async def stop(self) -> None:
        """Stop receiving; give the updates being handled a moment, then stop them too.

        An update stopped half way stays unhandled in the inbox: the next start handles it.
        """
        if self._server is not None:
            await self._server.cleanup()
            self._server = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._handling:
            await asyncio.wait(self._handling, timeout=self.config.stop_seconds)
        for task in self._handling:
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)

    async def _bootstrap(self, call: Callable[[], Awaitable[object]], what: str) -> None:
        """Make a set-up call, retrying network trouble a few times."""
        for attempt in range(BOOTSTRAP_RETRIES + 1):
            try:
                await call()
                return
            except InvalidToken:
                raise _rejected() from None
            except TelegramError as error:
                if attempt == BOOTSTRAP_RETRIES:
                    raise
                log.warning("Telegram: could not %s, retrying: %s", what, error)
                await asyncio.sleep(1.0)

    # -- long polling --------------------------------------------------------------------
    async def _poll(self) -> None:
        """Fetch, store, and only then confirm (ask for what follows), until cancelled."""
        bot, offset, pause = self.client.bot, None, 0.0
        while True:
            try:
                batch = await bot.get_updates(
                    offset=offset,
                    timeout=self.config.poll_seconds,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except RetryAfter as error:
                pause = _wait_of(error) + 0.5
            except TimedOut:
                pause = 0.0
            except InvalidToken:
                raise
            except TelegramError as error:
                log.warning("Telegram: polling failed, retrying: %s", error)
                pause = min(MAX_PAUSE, max(1.0, pause * 1.5))
            else:
                pause = 0.0
                if batch:
                    arrived = time.monotonic()
                    items = [(str(u.update_id), u.to_json()) for u in batch]
                    await self._store(items, arrived)
                    offset = batch[-1].update_id + 1
            if pause:
                await asyncio.sleep(pause)

    async def _store(self, items: Sequence[tuple[str, str]], arrived: float) -> None:
        """Store a batch that `arrived`, trying again until the database takes it (nothing is
        confirmed meanwhile), and hand the new updates over."""
        pause = 1.0
        while True:
            try:
                stored = await self.inbox.receive(PLATFORM, items)
            except Exception as error:  # the database's own errors: retried, never lost
                log.warning(
                    "Telegram: could not store %d updates, trying again in %.0f s: %s",
                    len(items),
                    pause,
                    error,
                )
                await asyncio.sleep(pause)
                pause = min(MAX_PAUSE, pause * 1.5)
                continue
            self._hand_over(stored, arrived)
            return

    # -- the webhook ---------------------------------------------------------------------
    async def _start_webhook(self, url: str) -> None:
        """Serve the webhook's path, then tell Telegram where it is (and the secret)."""
        from aiohttp import web  # only a webhook serves: long polling starts without it

        app = web.Application()
        app.router.add_post(f"/{urlsplit(url).path.strip('/')}", self._posted)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._server = runner
        host, port = parse_listen(self.config.listen)
        await web.TCPSite(runner, host, port).start()
        await self._bootstrap(
            lambda: self.client.bot.set_webhook(
                url=url,
                secret_token=self._secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=40,
            ),
            "set the webhook",
        )

    async def _posted(self, request: web.Request) -> web.Response:
        """An update from Telegram: 200 once it is stored (403 without the secret)."""
        from aiohttp import web

        arrived = time.monotonic()
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=403)
        body = await request.text()
        try:
            update: Any = json.loads(body)
            key = str(int(update["update_id"]))
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        try:
            stored = await self.inbox.receive(PLATFORM, [(key, body)])
        except Exception as error:  # the database's own errors: Telegram sends it again
            log.warning("Telegram: could not store update %s, refused it: %s", key, error)
            return web.Response(status=503)
        self._hand_over(stored, arrived)
        return web.Response()

    # -- handling ------------------------------------------------------------------------
    def _hand_over(self, entries: Sequence[Received], arrived: float | None = None) -> None:
        for entry in entries:
            if arrived is not None:
                self._arrivals[entry.key] = arrived
            self._waiting.put_nowait(entry)

    def arrived(self, update_id: int) -> float | None:
        """When an update being handled reached this process (`time.monotonic()`); None for
        one an earlier process stored."""
        return self._arrivals.get(str(update_id))

    async def _dispatch(self) -> None:
        """Handle stored updates in the order they came, at most `concurrent_updates` at once."""
        while True:
            entry = await self._waiting.get()
            await self._slots.acquire()
            task = asyncio.create_task(self._handle(entry))
            self._handling.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._handling.discard(task)
        self._slots.release()

    async def _handle(self, entry: Received) -> None:
        """Run the handlers on one stored update and mark it handled once they finished."""
        try:
            await self._run_handlers(entry)
        finally:
            self._arrivals.pop(entry.key, None)

    async def _run_handlers(self, entry: Received) -> None:
        if entry.attempts > MAX_ATTEMPTS:
            log.warning(
                "Telegram: update %s was taken on %d times and never handled; giving it up",
                entry.key,
                MAX_ATTEMPTS,
            )
            await self._mark(entry, f"given up after {MAX_ATTEMPTS} attempts")
            return
        try:
            update = Update.de_json(json.loads(entry.payload), self.client.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("Telegram: update %s cannot be read: %s", entry.key, error)
            await self._mark(entry, f"unreadable: {error}")
            return
        try:
            await self.client.application.process_update(update)
        except Exception:  # the handlers' errors went to the error handler; this is not one
            log.exception("Telegram: update %s could not be processed", entry.key)
            await self._mark(entry, "failed")
            return
        await self._mark(entry)

    async def _mark(self, entry: Received, error: str | None = None) -> None:
        try:
            await self.inbox.mark_handled(entry.id, error)
        except Exception as failure:  # the database's own errors: the next start handles it
            log.warning("Telegram: could not mark update %s handled: %s", entry.key, failure)
