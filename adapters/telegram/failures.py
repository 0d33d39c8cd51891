"""What a failed Bot API call means for a message: try again later, or never.

`delivery_error` reads python-telegram-bot's errors as the bot's `DeliveryError`s: a 429
(`RetryAfter`, after the rate limiter's own retries) is `TryLater` with its `retry_after`;
network errors, timeouts and server errors (5xx, which python-telegram-bot raises as
`NetworkError`) are `TryLater`; `Forbidden` (the user blocked the bot, it was removed from
the group), `BadRequest` (chat not found, a message Telegram will not take), a file over the
upload limit (413, Request Entity Too Large) and a group that moved to a new id are
`Refused`. `sending` awaits a call and raises the bot's error.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.chat.replier import DeliveryError, Refused, TryLater

T = TypeVar("T")


def delivery_error(error: TelegramError, what: str) -> DeliveryError:
    """The bot's reading of a failed call that was to `what` ("send a message", ...)."""
    reason = f"could not {what}: {type(error).__name__}: {error}"
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return TryLater(reason, retry_after=seconds)
    if isinstance(error, Forbidden | BadRequest | ChatMigrated) or too_large(error):
        return Refused(reason)
    return TryLater(reason)


def too_large(error: TelegramError) -> bool:
    """Whether Telegram refused a file over its upload limit (HTTP 413): sending it again
    cannot help."""
    return "request entity too large" in str(error).lower()


def not_modified(error: TelegramError) -> bool:
    """Whether an edit failed only because the message shows that text already."""
    return isinstance(error, BadRequest) and "not modified" in str(error).lower()


async def sending(call: Awaitable[T], what: str) -> T:
    """Await a Bot API call; a Telegram or network error is raised as a `DeliveryError`."""
    try:
        return await call
    except TelegramError as error:
        raise delivery_error(error, what) from error
