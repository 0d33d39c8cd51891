"""The bot's answers on Telegram: texts, status messages and results.

Texts are split at Telegram's limit; a status message is created once and then edited in
place (`flood`); results go as photos (files when too large for a photo, when Telegram
refuses the photo, or when asked to: the outbox does so once the photo route kept failing)
with an inline keyboard, several as an album with the keyboard on a short message under it.
A video goes with `sendVideo` (size, length, a JPEG thumbnail, streaming), written again
smaller when over the upload limit (`generation.video.shrink`); one that cannot fit is
named in a sentence instead (it stays in /history).
A failed call raises the bot's `DeliveryError` (`failures`), for the outbox to retry or give
up; what went out of a message sent in parts is noted in its `Parts`, so a retry sends only
the rest. Which image each sent message shows is remembered (`SentResults`), so a reply to it
names the image.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
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
from adapters.telegram.failures import delivery_error, sending
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
from bot.chat.present import too_large
from bot.chat.replier import DeliveryError, Parts, ProgressRef, TryLater
from generation import video
from generation.media import is_video

log = logging.getLogger(__name__)


class SentResults:
    """Which image each of the bot's recent messages shows (chat id, message id -> image)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._images: OrderedDict[tuple[int, int], int] = OrderedDict()

    def get(self, chat_id: int, message_id: int) -> int | None:
        """The image a message shows, if it is a recent result."""
        return self._images.get((chat_id, message_id))

    def remember(self, chat_id: int, message_ids: list[int], images: list[OutImage]) -> None:
        """Note which image each sent message shows."""
        for message_id, image in zip(message_ids, images, strict=False):
            self._images[(chat_id, message_id)] = image.image_id
        while len(self._images) > self.keep:
            self._images.popitem(last=False)


class Delivery:
    """Sends texts, status messages and results (the adapter's `Replier` side)."""

    def __init__(self, client: TelegramClient, limits: FloodLimits, upload_limit: int) -> None:
        self.client = client
        self.upload_limit = upload_limit
        self.results = SentResults()
        self.statuses = StatusEdits(client, limits)

    async def _ready(self) -> None:
        if not await self.client.ready():
            raise TryLater("Telegram: the adapter cannot send now")

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        """Send a message, split at Telegram's 4096-character limit (chunks sent before, as
        `parts` notes, are not sent again)."""
        await self._ready()
        parts = {} if parts is None else parts
        reply, question = reply_parameters(destination), force_reply(destination)
        for number, chunk in enumerate(split_text(text)):
            if number < int(parts.get("chunks", 0)):
                continue
            call = self.client.bot.send_message(
                int(destination.chat_id),
                chunk,
                reply_parameters=reply if number == 0 else None,
                message_thread_id=thread(destination),
                reply_markup=question if number == 0 else None,
            )
            await sending(call, "send a message")
            parts["chunks"] = number + 1

    async def say(self, destination: Destination, text: str) -> None:
        """Send a message now, best effort (the adapter's own word on a failed update)."""
        try:
            await self.send_text(destination, text)
        except DeliveryError as error:
            log.warning("Telegram: %s", error.reason)

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the status message once; later edits are throttled and coalesced.

        Best effort: a status message that cannot be created is logged and has no ref.
        """
        chat_id = int(destination.chat_id)
        message_id = (ref or {}).get("message_id")
        if isinstance(message_id, int):
            self.statuses.show(chat_id, message_id, text)
            return ref or {}
        try:
            return await self._create_status(destination, chat_id, text)
        except DeliveryError as error:
            log.warning("Telegram: %s", error.reason)
            return {}

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        """Edit the status message to its last text (within the flood limits); a message
        that is gone or cannot be edited, or none at all, gets a new message instead."""
        message_id = (ref or {}).get("message_id")
        if not isinstance(message_id, int):
            await self.send_text(destination, text)
            return
        await self._ready()
        try:
            await self.statuses.finish(int(destination.chat_id), message_id, text)
        except DeliveryError as error:
            if not isinstance(error.__cause__, BadRequest):
                raise
            log.info("Telegram: %s; sending the status as a new message", error.reason)
            await self.send_text(destination, text)

    async def _create_status(
        self, destination: Destination, chat_id: int, text: str
    ) -> ProgressRef:
        await self._ready()
        shown = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        call = self.client.bot.send_message(
            chat_id,
            shown,
            reply_parameters=reply_parameters(destination),
            message_thread_id=thread(destination),
        )
        message = await sending(call, "send a status message")
        self.statuses.created(chat_id, message.message_id, shown)
        return {"chat_id": chat_id, "message_id": message.message_id}

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
        """Send results as photos (files when too large, or `as_files`) with the caption and a
        keyboard; an album noted in `parts` is not sent again, only its buttons."""
        if not images:
            return
        await self._ready()
        parts = {} if parts is None else parts
        caption = trim(caption, MessageLimit.CAPTION_LENGTH)
        as_files = as_files or not all(fits_photo(image.data) for image in images)
        markup = keyboard(buttons)
        chat_id = int(destination.chat_id)
        if any(is_video(image.data) for image in images):
            await self._send_videos(destination, images, caption, markup, parts)
            return
        if len(images) == 1:
            sent = await self._send_one(destination, images[0], caption, markup, as_files)
            self.results.remember(chat_id, [sent.message_id], images)
            return
        album = parts.get("album")
        if not isinstance(album, list) or not album:
            album = [
                message.message_id
                for message in await self._send_album(destination, images, caption, as_files)
            ]
            parts["album"] = album
            self.results.remember(chat_id, album, images)
        if markup is not None:
            await self._send_buttons(destination, int(album[0]), images, markup)

    async def _send_videos(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        markup: InlineKeyboardMarkup | None,
        parts: Parts,
    ) -> None:
        """Each video on its own (the caption on the first, the keyboard on the last), made
        smaller to fit the upload limit, or named in a sentence when it cannot be; those
        `parts` notes as sent are not sent again."""
        language = destination.extra.get("language")
        chat_id = int(destination.chat_id)
        for number, image in enumerate(images):
            if number < int(parts.get("videos", 0)):
                continue
            data = await asyncio.to_thread(video.shrink, image.data, self.upload_limit)
            if data is None:
                await self.send_text(destination, too_large(image, self.upload_limit, language))
            else:
                last = number == len(images) - 1
                shown = caption if number == 0 else None
                sent = await self._send_video(
                    destination, image, data, shown, markup if last else None
                )
                self.results.remember(chat_id, [sent.message_id], [image])
            parts["videos"] = number + 1

    async def _send_video(
        self,
        destination: Destination,
        image: OutImage,
        data: bytes,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        info = await asyncio.to_thread(video.probe, data)
        thumbnail = await asyncio.to_thread(video.thumbnail, data)
        call = self.client.bot.send_video(
            int(destination.chat_id),
            data,
            duration=info.duration,
            width=info.width,
            height=info.height,
            thumbnail=thumbnail,
            supports_streaming=True,
            has_spoiler=True if image.spoiler else None,
            caption=caption,
            reply_markup=markup,
            reply_parameters=reply_parameters(destination),
            message_thread_id=thread(destination),
            filename=image.filename,
        )
        sent: Message = await sending(call, "send a video")
        return sent

    async def _send_buttons(
        self,
        destination: Destination,
        album: int,
        images: list[OutImage],
        markup: InlineKeyboardMarkup,
    ) -> None:
        """An album cannot carry a keyboard: send it on a short message under the album."""
        call = self.client.bot.send_message(
            int(destination.chat_id),
            " · ".join(f"#{image.label}" for image in images),
            reply_markup=markup,
            reply_parameters=ReplyParameters(album, allow_sending_without_reply=True),
            message_thread_id=thread(destination),
        )
        keys = await sending(call, "send the result buttons")
        self.results.remember(int(destination.chat_id), [keys.message_id], images[:1])

    async def _send_one(
        self,
        destination: Destination,
        image: OutImage,
        caption: str,
        markup: InlineKeyboardMarkup | None,
        as_file: bool,
    ) -> Message:
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
                hidden = True if image.spoiler else None  # None: not sent at all
                message: Message = await bot.send_photo(
                    chat_id, image.data, has_spoiler=hidden, **common
                )
                return message
            except BadRequest as error:
                log.warning("Telegram: photo refused (%s); sending it as a file", error)
            except TelegramError as error:
                raise delivery_error(error, "send a result") from error
        sent: Message = await sending(
            bot.send_document(chat_id, image.data, **common), "send a result"
        )
        return sent

    async def _send_album(
        self, destination: Destination, images: list[OutImage], caption: str, as_files: bool
    ) -> tuple[Message, ...]:
        if not as_files:
            try:
                return await self._album(destination, images, caption, InputMediaPhoto)
            except BadRequest as error:
                log.warning("Telegram: photos refused (%s); sending them as files", error)
            except TelegramError as error:
                raise delivery_error(error, "send results") from error
        return await sending(
            self._album(destination, images, caption, InputMediaDocument), "send results"
        )

    async def _album(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        kind: type[InputMediaPhoto] | type[InputMediaDocument],
    ) -> tuple[Message, ...]:
        media: list[InputMediaPhoto | InputMediaDocument] = []
        for number, image in enumerate(images):
            first = caption if number == 0 else None
            if kind is InputMediaPhoto:
                media.append(
                    InputMediaPhoto(
                        image.data,
                        first,
                        filename=image.filename,
                        has_spoiler=True if image.spoiler else None,
                    )
                )
            else:
                media.append(kind(image.data, caption=first, filename=image.filename))
        return await self.client.bot.send_media_group(
            int(destination.chat_id),
            media,
            reply_parameters=reply_parameters(destination),
            message_thread_id=thread(destination),
        )
