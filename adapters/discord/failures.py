"""What a failed Discord call means for a message: try again later, or never.

discord.py retries server errors (5xx) and rate limits (429) itself, a few times; what still
fails reaches `delivery_error`: server errors, rate limits, timeouts and network errors are
`TryLater` (a 429 with its `Retry-After`); any other refusal (403 missing access, 404 unknown
channel, 400 a message Discord will not take) is `Refused`.
"""

from __future__ import annotations

import aiohttp
import discord

from bot.chat.replier import DeliveryError, Refused, TryLater

FAILURES = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)
"""What a Discord call raises when it fails."""


def delivery_error(error: Exception, what: str) -> DeliveryError:
    """The bot's reading of a failed call that was to `what` ("answer discord:12", ...)."""
    reason = f"could not {what}: {type(error).__name__}: {error}"
    if not isinstance(error, discord.HTTPException):
        return TryLater(reason)  # the network, a timeout, a closed connection
    if error.status == 429:
        header = error.response.headers.get("Retry-After") if error.response else None
        try:
            wait = float(header) if header else None
        except ValueError:
            wait = None
        return TryLater(reason, retry_after=wait)
    if error.status >= 500 or error.status == 408:
        return TryLater(reason)
    return Refused(reason)
