"""Progress messages edited in place, at most once per `edit_interval` per message.

Edits asked for in between are coalesced and the newest text always lands
(`bot.chat.throttle`); on the way out the waiting edits are made at once. An edit goes
through the interaction while its token lives, else through the channel. Edits while a job
works are best effort (a failed one is logged); a message's last text (`finish`) is made
within the same interval and its failure raised as a `DeliveryError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord

from adapters.discord.client import Client
from adapters.discord.failures import FAILURES, delivery_error
from adapters.discord.present import clip
from adapters.discord.target import Target
from bot.chat.replier import DeliveryError, ProgressRef, TryLater
from bot.chat.throttle import Edits, Throttle

log = logging.getLogger(__name__)

SETTLE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Progress:
    """What a progress message should show, and the handle to edit it with."""

    ref: ProgressRef
    text: str


class ProgressEdits:
    """Edits progress messages, each to its newest text, within the interval."""

    def __init__(self, interval: float, client: Callable[[], Client | None]) -> None:
        self._client = client
        self._edits = Edits[str, _Progress](Throttle(interval), self._edit, keep=256)

    def created(self, ref: ProgressRef, text: str) -> None:
        """A progress message was just sent showing `text`."""
        self._edits.sent(str(ref["message_id"]), _Progress(ref, text))

    def show(self, ref: ProgressRef, text: str) -> None:
        """Bring the progress message to `text`: now, or once the interval has passed."""
        self._edits.want(str(ref["message_id"]), _Progress(ref, text))

    async def settle(self) -> None:
        """On the way out, make the waiting edits at once (bounded)."""
        await self._edits.settle(SETTLE_SECONDS)

    async def finish(self, ref: ProgressRef, text: str) -> None:
        """Bring the message to its last text within the interval (what waits is dropped);
        raise `DeliveryError` when the edit failed."""
        await self._edits.finish(str(ref["message_id"]), _Progress(ref, text), self._edit_now)

    async def _edit(self, key: str, progress: _Progress) -> None:
        """An edit while a job works: best effort."""
        try:
            await self._edit_now(key, progress)
        except DeliveryError as error:
            log.warning("%s", error.reason)

    async def _edit_now(self, key: str, progress: _Progress) -> None:
        """Edit through the interaction while its token lives, else through the channel."""
        client = self._client()
        if client is None or client.is_closed():
            raise TryLater("not connected to Discord")
        ref, text = progress.ref, clip(progress.text)
        target = Target.of_ref(ref)
        message_id = int(key)
        try:
            if ref.get("via") != "channel" and not target.expired():
                webhook = discord.Webhook.partial(
                    target.application_id, target.token, client=client
                )
                try:
                    await webhook.edit_message(message_id, content=text)
                    return
                except discord.HTTPException as error:
                    if error.status not in (401, 404):
                        raise
            channel = client.get_partial_messageable(target.channel_id)
            await channel.get_partial_message(message_id).edit(content=text)
        except FAILURES as error:
            raise delivery_error(error, f"edit progress message {message_id}") from error
