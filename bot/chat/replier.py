"""How the bot speaks: the interface each adapter implements, and how sending can fail.

Texts, results and the last text of a status message are delivered through the outbox
(`bot.delivery`), which retries them: a `Replier` raises a `DeliveryError` that says whether
trying again can help (`TryLater`, perhaps after `retry_after` seconds) or not (`Refused`:
the user blocked the bot, the chat is gone). Status messages while a job waits and runs are
best effort: `send_progress` never raises.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from bot.chat.command import Button, Destination, OutImage

ProgressRef = dict[str, Any]
"""An adapter's handle on a progress message (JSON-safe, stored with the job)."""

Parts = dict[str, Any]
"""What an adapter noted about a message it sent in several parts (a long text in chunks, an
album and its buttons), JSON-safe: an adapter adds to it as each part goes out, and a failed
message is tried again with what it noted, so no part is sent twice."""


class DeliveryError(Exception):
    """A message the platform did not take; `permanent` says whether trying again can help."""

    permanent: ClassVar[bool] = False

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        """Seconds the platform asked us to wait before the next try, if it said."""


class TryLater(DeliveryError):
    """Not now: the network, the platform's server errors, its rate limits, no connection."""


class Refused(DeliveryError):
    """Never: the user blocked the bot, left or deleted the chat, or the message is invalid."""

    permanent = True


class Replier(Protocol):
    """Sends the bot's answers on one platform."""

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        """Send a plain message; raise `DeliveryError` when it did not go out."""

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the progress message (ref None) or edit it in place; return its ref.

        Best effort: never raises; a message that could not be created has the ref `{}`.
        """

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        """Show the progress message's last text (a new message when there is none to edit);
        raise `DeliveryError` when it could not be shown."""

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
        *,
        parts: Parts | None = None,
        as_files: bool = False,
    ) -> None:
        """Send result pictures with a caption and buttons (as files if `as_files`: the
        platform's picture route kept failing); raise `DeliveryError` when they did not go."""
