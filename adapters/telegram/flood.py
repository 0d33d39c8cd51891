"""Flood control: status edits and chat actions paced under Telegram's limits.

Sent messages are paced by python-telegram-bot's `AIORateLimiter` (see `client`); here each
status message is edited to its newest text no more often than its chat allows
(`bot.chat.throttle`), and "sending a photo…" is shown now and then while a job works.
"""

from __future__ import annotations

import time

from telegram.constants import ChatAction, MessageLimit

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import FloodLimits
from adapters.telegram.present import trim
from bot.chat.throttle import Edits, Throttle

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

    async def _edit(self, key: StatusKey, text: str) -> None:
        if await self.client.ready():
            chat_id, message_id = key
            await self.client.guarded(
                self.client.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id),
                "edit a status message",
            )

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
