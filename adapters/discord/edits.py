"""Progress messages edited in place, at most once per `edit_interval` per message.

Edits asked for in between are coalesced and the newest text always lands
(`bot.chat.throttle`); on the way out the waiting edits are made at once. An edit goes
through the interaction while its token lives, else through the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import discord

from adapters.discord.client import Client, log_http_failure
from adapters.discord.present import clip
from adapters.discord.target import Target
from bot.chat.replier import ProgressRef
from bot.chat.throttle import Edits, Throttle

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

    async def _edit(self, key: str, progress: _Progress) -> None:
        """Edit through the interaction while its token lives, else through the channel."""
        client = self._client()
        if client is None or client.is_closed():
            return
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
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            log_http_failure(f"edit progress message {message_id}", error)
