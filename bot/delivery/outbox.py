"""What the bot writes to: the outbox, and the drafts each kind of message is stored as.

A message is stored first and sent after, so nothing the bot says is lost to a failed call or
a restart. Its key makes it idempotent: the end of job 12 is `job:12:result` (or `:failed`),
a command's answers are `reply:<its source>:<n>` when the adapter named the command's source,
so a message stored twice is sent once. Pictures are stored as image ids; the sender reads the
bytes from the store when it sends them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from bot.chat.command import Button, Command, Destination
from bot.chat.replier import ProgressRef
from bot.delivery.sender import HOLD, IMAGES, STATUS, TEXT, Sender
from storage.records import OutboxDraft
from storage.store import Store

MAX_KEY = 200  # the column's length


def key_of(*parts: object) -> str:
    """A message key from its parts (`job:12:result`); hashed when it would be too long."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= MAX_KEY:
        return key
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def reply_key(command: Command, number: int) -> str | None:
    """The key of a command's `number`th answer; None when the command has no source."""
    if command.source is None:
        return None
    return key_of("reply", command.platform, command.source, number)


def _draft(
    destination: Destination,
    kind: str,
    payload: dict[str, Any],
    key: str | None,
    user_id: int | None,
    job_id: int | None,
) -> OutboxDraft:
    return OutboxDraft(
        platform=destination.platform,
        kind=kind,
        destination=destination.to_dict(),
        payload=payload,
        key=key,
        user_id=user_id,
        job_id=job_id,
    )


def text_draft(
    destination: Destination,
    text: str,
    *,
    key: str | None = None,
    user_id: int | None = None,
    job_id: int | None = None,
) -> OutboxDraft:
    """A plain message."""
    return _draft(destination, TEXT, {"text": text}, key, user_id, job_id)


def status_draft(
    destination: Destination,
    text: str,
    ref: ProgressRef | None,
    *,
    key: str | None = None,
    user_id: int | None = None,
    job_id: int | None = None,
) -> OutboxDraft:
    """The last text of a job's status message (`ref`; None: there is none, send one)."""
    return _draft(destination, STATUS, {"text": text, "ref": ref}, key, user_id, job_id)


def images_draft(
    destination: Destination,
    image_ids: list[int],
    caption: str,
    buttons: list[Button],
    *,
    key: str | None = None,
    user_id: int | None = None,
    job_id: int | None = None,
    spoilers: Sequence[int] = (),
) -> OutboxDraft:
    """Result pictures (stored image ids) with their caption and buttons; those in
    `spoilers` go behind the platform's spoiler."""
    payload: dict[str, Any] = {
        "images": list(image_ids),
        "caption": caption,
        "buttons": [
            {"action": str(button.action), "image_id": button.image_id, "label": button.label}
            for button in buttons
        ],
    }
    if spoilers:
        payload["spoilers"] = list(spoilers)
    return _draft(destination, IMAGES, payload, key, user_id, job_id)


class Outbox:
    """Stores messages to users and has the sender deliver them."""

    def __init__(self, store: Store, sender: Sender) -> None:
        self.store = store
        self.sender = sender

    async def send(self, *drafts: OutboxDraft, tell_job: int | None = None) -> bool:
        """Store the messages and try them now, in order (a command's answers).

        Returns False when nothing was stored: every key was stored before, or `tell_job`
        had been told already (see `Store.post_messages`). A failed try is left to the
        sender's loop.
        """
        stored = await self.store.post_messages(drafts, hold=HOLD, tell_job=tell_job)
        for record in stored:
            await self.sender.deliver(record)
        return bool(stored)

    async def post(self, *drafts: OutboxDraft, tell_job: int | None = None) -> bool:
        """Store the messages and send them in the background, each on its own (how a job
        ended: whoever tells it, a queue or a worker's notice, does not wait for the
        platform).

        Returns False when nothing was stored, as `send` does.
        """
        stored = await self.store.post_messages(drafts, hold=HOLD, tell_job=tell_job)
        self.sender.spawn(stored)
        return bool(stored)

    async def wait_idle(self) -> None:
        """Wait until every message to the platforms served here is out (or given up)."""
        await self.sender.wait_idle()
