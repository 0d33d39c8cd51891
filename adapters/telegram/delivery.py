"""The bot's answers on Telegram: texts, status messages and results.

Texts are split at Telegram's limit; a status message is created once and then edited in
place (`flood`); results go as photos (files when too large for a photo) with an inline
keyboard, several as an album with the keyboard on a short message under it. Which image
each sent message shows is remembered (`SentResults`), so a reply to it names the image.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import FloodLimits
from adapters.telegram.flood import StatusEdits
from adapters.telegram.present import (
    fits_photo,
    force_reply,
    keyboard,
    reply_parameters,
    split_text,
    thread,
    trim,
)
from bot.chat.command import Button, Destination, OutImage
from bot.chat.replier import ProgressRef

log = logging.getLogger(__name__)


class SentResults:
    """Which image each of the bot's recent messages shows (chat id, message id -> image)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._images: OrderedDict[tuple[int, int], int] = OrderedDict()

    def get(self, chat_id: int, message_id: int) -> int | None:
        """The image a message shows, if it is a recent result."""
        return self._images.get((chat_id, message_id))

    def remember(
        self, chat_id: int, sent: Message | Sequence[Message] | None, images: list[OutImage]
    ) -> None:
        """Note which image each sent message shows."""
        messages = [sent] if isinstance(sent, Message) else list(sent or ())
        for message, image in zip(messages, images, strict=False):
            self._images[(chat_id, message.message_id)] = image.image_id
        while len(self._images) > self.keep:
            self._images.popitem(last=False)


class Delivery:
    """Sends texts, status messages and results (the adapter's `Replier` side)."""

    def __init__(self, client: TelegramClient, limits: FloodLimits) -> None:
        self.client = client
        self.results = SentResults()
        self.statuses = StatusEdits(client, limits)

    async def send_text(self, destination: Destination, text: str) -> None:
        """Send a message, split at Telegram's 4096-character limit."""
        if not await self.client.ready():
            return
        reply, question = reply_parameters(destination), force_reply(destination)
        for chunk in split_text(text):
            await self.client.guarded(
                self.client.bot.send_message(
                    int(destination.chat_id),
                    chunk,
                    reply_parameters=reply,
                    message_thread_id=thread(destination),
                    reply_markup=question,
                ),
                "send a message",
            )
            reply = question = None

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the status message once; later edits are throttled and coalesced."""
        chat_id = int(destination.chat_id)
        message_id = (ref or {}).get("message_id")
        if not isinstance(message_id, int):
            return await self._create_status(destination, chat_id, text)
        self.statuses.show(chat_id, message_id, text)
        return ref or {}

    async def _create_status(
        self, destination: Destination, chat_id: int, text: str
    ) -> ProgressRef:
        if not await self.client.ready():
            return {}
        shown = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        message = await self.client.guarded(
            self.client.bot.send_message(
                chat_id,
                shown,
                reply_parameters=reply_parameters(destination),
                message_thread_id=thread(destination),
            ),
            "send a status message",
        )
        if message is None:
            return {}
        self.statuses.created(chat_id, message.message_id, shown)
        return {"chat_id": chat_id, "message_id": message.message_id}

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
    ) -> None:
        """Send results as photos (files when too large) with the caption and a keyboard."""
        if not images or not await self.client.ready():
            return
        caption = trim(caption, MessageLimit.CAPTION_LENGTH)
        as_files = not all(fits_photo(image.data) for image in images)
        markup = keyboard(buttons)
        chat_id = int(destination.chat_id)
        if len(images) == 1:
            sent = await self._send_one(destination, images[0], caption, markup, as_files)
            self.results.remember(chat_id, sent, images)
            return
        album = await self._send_album(destination, images, caption, as_files)
        self.results.remember(chat_id, album, images)
        if album and markup is not None:
            await self._send_buttons(destination, album[0], images, markup)

    async def _send_buttons(
        self,
        destination: Destination,
        album: Message,
        images: list[OutImage],
        markup: InlineKeyboardMarkup,
    ) -> None:
        """An album cannot carry a keyboard: send it on a short message under the album."""
        keys = await self.client.guarded(
            self.client.bot.send_message(
                int(destination.chat_id),
                " · ".join(f"#{image.image_id}" for image in images),
                reply_markup=markup,
                reply_parameters=ReplyParameters(album.message_id),
                message_thread_id=thread(destination),
            ),
            "send the result buttons",
        )
        self.results.remember(int(destination.chat_id), keys, images[:1])

    async def _send_one(
        self,
        destination: Destination,
        image: OutImage,
        caption: str,
        markup: InlineKeyboardMarkup | None,
        as_file: bool,
    ) -> Message | None:
        bot, chat_id = self.client.bot, int(destination.chat_id)
        common: dict[str, Any] = {
            "caption": caption,
            "reply_markup": markup,
            "reply_parameters": reply_parameters(destination),
            "message_thread_id": thread(destination),
            "filename": image.filename,
        }
        if not as_file:
            try:
                message: Message = await bot.send_photo(chat_id, image.data, **common)
                return message
            except BadRequest as error:
                log.warning("Telegram: photo refused (%s); sending it as a file", error)
            except TelegramError as error:
                log.warning("Telegram: could not send a result: %s", error)
                return None
        return await self.client.guarded(
            bot.send_document(chat_id, image.data, **common), "send a result"
        )

    async def _send_album(
        self, destination: Destination, images: list[OutImage], caption: str, as_files: bool
    ) -> tuple[Message, ...]:
        kind = InputMediaDocument if as_files else InputMediaPhoto
        media = [
            kind(image.data, caption=caption if number == 0 else None, filename=image.filename)
            for number, image in enumerate(images)
        ]
        sent = await self.client.guarded(
            self.client.bot.send_media_group(
                int(destination.chat_id),
                media,
                reply_parameters=reply_parameters(destination),
                message_thread_id=thread(destination),
            ),
            "send results",
        )
        return sent or ()
