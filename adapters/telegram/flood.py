"""Flood control: status edits and chat actions paced under Telegram's limits.

Sent messages are paced by python-telegram-bot's `AIORateLimiter` (see `client`); here each
status message is edited to its newest text no more often than its chat allows
(`bot.chat.throttle`), and "sending a photo…" is shown now and then while a job works.
Edits while a job works are best effort (a failed one is logged); the last text of a status
message (`StatusEdits.finish`) is made within the same limits and its failure raised.
"""

from __future__ import annotations

import logging
import time

from telegram.constants import ChatAction, MessageLimit
from telegram.error import TelegramError

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import FloodLimits
from adapters.telegram.failures import delivery_error, not_modified
from adapters.telegram.present import trim
from bot.chat.replier import DeliveryError, TryLater
from bot.chat.throttle import Edits, Throttle

log = logging.getLogger(__name__)

StatusKey = tuple[int, int]
"""A status message: chat id and message id."""


def is_group(chat_id: int) -> bool:
    """Groups and channels have negative ids on Telegram."""
    return chat_id < 0


class StatusEdits:
    """Edits status messages in place, each to its newest text, within the limits."""

    def __init__(self, client: TelegramClient, limits: FloodLimits) -> None:
        self.client = client
        self.limits = limits
        private = Throttle(limits.private_edit_seconds)
        group = Throttle(limits.group_edit_seconds, limits.group_edits_per_minute)
        self._edits = {
            False: Edits[StatusKey, str](private, self._edit),
            True: Edits[StatusKey, str](group, self._edit),
        }
        self._actions: dict[int, float] = {}

    def created(self, chat_id: int, message_id: int, text: str) -> None:
        """A status message was just sent showing `text`."""
        self._edits[is_group(chat_id)].sent((chat_id, message_id), text, chat_id)

    def show(self, chat_id: int, message_id: int, text: str) -> None:
        """Bring the status message to `text`: now, or as soon as the limits allow."""
        wanted = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        self._edits[is_group(chat_id)].want((chat_id, message_id), wanted, chat_id)
        self._show_activity(chat_id)

    async def finish(self, chat_id: int, message_id: int, text: str) -> None:
        """Bring the status message to its last text within the limits (what waits is
        dropped); raise `DeliveryError` when the edit failed."""
        wanted = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        edits = self._edits[is_group(chat_id)]
        await edits.finish((chat_id, message_id), wanted, self._edit_now, chat_id)

    async def _edit(self, key: StatusKey, text: str) -> None:
        """An edit while a job works: best effort."""
        try:
            await self._edit_now(key, text)
        except DeliveryError as error:
            log.warning("Telegram: %s", error.reason)

    async def _edit_now(self, key: StatusKey, text: str) -> None:
        if not await self.client.ready():
            raise TryLater("Telegram: the adapter cannot send now")
        chat_id, message_id = key
        try:
            await self.client.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramError as error:
            if not not_modified(error):
                raise delivery_error(error, "edit a status message") from error

    def _show_activity(self, chat_id: int) -> None:
        """Show "sending a photo…" while a job works, now and then."""
        limits, now = self.limits, time.monotonic()
        group = is_group(chat_id)
        every = limits.group_action_seconds if group else limits.private_action_seconds
        if (
            self.client.stopped
            or not self.client.initialized
            or now - self._actions.get(chat_id, -every) < every
        ):
            return
        self._actions[chat_id] = now
        self.client.spawn(
            self.client.guarded(
                self.client.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO),
                "show the chat action",
            )
        )

    async def close(self) -> None:
        """Drop the edits still waiting (the adapter is stopping)."""
        for edits in self._edits.values():
            await edits.close()
