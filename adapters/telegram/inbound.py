"""Telegram updates in, the bot's commands out.

A message is a `/command text` (`/imagine@Bot ...` in groups), or in a private chat plain
text: a prompt for the command the menu marks as the private-chat default, for img2img
with a picture, for a mix in an album. Pictures come from photos and files (the message's
own, or those of the message it replies to), downloaded within the cap; an album's
messages are gathered into one command. A button press runs its action on its image, and
replying to one of the bot's results names its image (`Command.reply_image_id`). A reply to
the bot's question for an edit's instruction (`bot.chat.command.edit_question`, sent with
the reply field open) is that instruction: an /edit of the image the question names. A file
the adapter will not download becomes the command's `refusal`, which the bot words in the
user's language.

Each command names the update it came from (`Command.source`; an album, its first), so an
update handled again after a crash does not make a second job. A handler returns once its
command is handled; an album's later parts wait for the album, so each of its updates is
handled when the album is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import TelegramConfig
from adapters.telegram.delivery import SentResults
from bot.chat.adapter import Handle
from bot.chat.command import Attachment, Button, Command, Destination, asked_image
from bot.chat.downloads import check_download
from bot.chat.menu import CommandInfo
from bot.i18n.catalogue import text
from generation.request import RequestError

log = logging.getLogger(__name__)

PLATFORM = "telegram"
_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?=\s|$)(.*)", re.DOTALL)
_IMAGE_REF = re.compile(r"#(\d+(?:\.\d+)?)")

Say = Callable[[Destination, str], Awaitable[None]]
Arrived = Callable[[int], float | None]


def source(update_id: int) -> str:
    """What a command made from this update came from (`Command.source`)."""
    return f"{PLATFORM}:update:{update_id}"


def parse_command(body: str, username: str) -> tuple[str, str] | None:
    """`/name@bot rest` -> (name, rest); None when it is not a command or is for another bot."""
    match = _COMMAND.match(body)
    if match is None:
        return None
    name, mention, rest = match.groups()
    if mention and mention.lower() != username.lower():
        return None
    return name, rest.strip()


def private_default(commands: Sequence[CommandInfo]) -> str | None:
    """The command a plain message in a private chat means, if any."""
    return next((info.name for info in commands if info.private_default), None)


def _has_picture(message: Message | None) -> bool:
    return message is not None and (bool(message.photo) or message.document is not None)


def _user_name(user: User) -> str:
    return user.username or user.full_name


def _keyboard_image(message: Message) -> int | None:
    """The image a result's buttons act on (they carry stored ids, so this survives restarts)."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else ()
    for key in (key for row in rows for key in row):
        parsed = Button.parse(key.callback_data if isinstance(key.callback_data, str) else "")
        if parsed is not None:
            return parsed[1]
    return None


def _asked(message: Message) -> str | None:
    """The number of the picture whose edit the bot asked about, when `message` replies to
    that question."""
    reply = message.reply_to_message
    if reply is None or reply.from_user is None or reply.from_user.id != message.get_bot().id:
        return None
    return asked_image(reply.text or "")


def _extra(message: Message) -> dict[str, str]:
    if message.is_topic_message and message.message_thread_id:
        return {"thread": str(message.message_thread_id)}
    return {}


@dataclass(slots=True)
class _Album:
    """An album being gathered: its parts so far (update id, message), and when it is done."""

    parts: list[tuple[int, Message]]
    handled: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Inbound:
    """Turns messages, albums and button presses into commands for the bot."""

    def __init__(
        self,
        client: TelegramClient,
        config: TelegramConfig,
        handle: Handle,
        results: SentResults,
        say: Say,
        arrived: Arrived,
    ) -> None:
        """`arrived` says when an update reached the adapter (its commands' `received_at`)."""
        self.client = client
        self.config = config
        self.handle = handle
        self.results = results
        self.say = say
        self.arrived = arrived
        self.prompt_command = private_default(config.commands) if config.private_prompts else None
        self._albums: dict[str, _Album] = {}

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message: a command, a prompt, a picture, or part of an album."""
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.media_group_id:
            await self._on_album_part(update.update_id, message)
            return
        intent = self._intent(message, "img2img")
        if intent is not None:
            await self._submit([message], message, update.update_id, *intent)

    async def _on_album_part(self, update_id: int, message: Message) -> None:
        """Gather an album's messages until none arrives for a moment, then run it once.

        The first part's handler runs the album; the others return when it is handled
        (stopped half way, they stop too: the album is handled again by the next start).
        """
        key = f"{message.chat.id}:{message.media_group_id}"
        album = self._albums.get(key)
        if album is not None:
            album.parts.append((update_id, message))
            await asyncio.shield(album.handled)
            return
        album = self._albums[key] = _Album([(update_id, message)])
        try:
            await self._gather(key, album)
        except asyncio.CancelledError:
            album.handled.cancel()
            raise
        finally:
            if self._albums.get(key) is album:
                del self._albums[key]
            if not album.handled.done():
                album.handled.set_result(None)

    async def _gather(self, key: str, album: _Album) -> None:
        seen = 0
        while seen < len(album.parts):
            seen = len(album.parts)
            await asyncio.sleep(self.config.album_seconds)
        del self._albums[key]
        parts = sorted((message for _, message in album.parts), key=lambda m: m.message_id)
        captioned = next((part for part in parts if part.caption), parts[0])
        intent = self._intent(captioned, "mix")
        if intent is not None:
            first = min(update_id for update_id, _ in album.parts)
            await self._submit(parts, captioned, first, *intent)

    def _intent(self, message: Message, picture_command: str) -> tuple[str, str] | None:
        """The command a message asks for: its own `/command`, else a private-chat prompt."""
        body = message.text or message.caption or ""
        if body.startswith("/"):
            return parse_command(body, self.client.bot.username)
        prompt = body.strip()
        asked = _asked(message) if prompt else None
        if asked is not None:
            return "edit", f"#{asked} {prompt}"
        if not prompt or message.chat.type != ChatType.PRIVATE or self.prompt_command is None:
            return None
        if _has_picture(message) or _has_picture(message.reply_to_message):
            return picture_command, prompt
        return self.prompt_command, prompt

    async def _submit(
        self, parts: list[Message], message: Message, update_id: int, name: str, rest: str
    ) -> None:
        """Download the pictures (within the cap), build the command and hand it to the bot."""
        command = self._command(message, name, rest, update_id)
        try:
            own = [picture for part in parts for picture in await self._pictures(part)]
            replied = await self._pictures(message.reply_to_message)
        except RequestError as refusal:
            await self.handle(dataclasses.replace(command, refusal=refusal))
            return
        await self.handle(
            dataclasses.replace(command, attachments=tuple(own), reply_attachments=tuple(replied))
        )

    def _command(self, message: Message, name: str, rest: str, update_id: int) -> Command:
        """The command a message makes (`update_id`'s), before its pictures are downloaded."""
        user = message.from_user
        assert user is not None, "checked by on_message"
        return Command(
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=_user_name(user),
            chat_id=str(message.chat.id),
            name=name,
            text=rest,
            reply_image_id=(known := self._replied_image(message)),
            reply_label=None if known is not None else self._replied_label(message),
            locale=user.language_code,
            message_id=str(message.message_id),
            extra=_extra(message),
            source=source(update_id),
            received_at=self.arrived(update_id),
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answer it at once, then run its action on its image."""
        query = update.callback_query
        if query is None:
            return
        await self.client.guarded(query.answer(), "answer a button press")
        data = query.data if isinstance(query.data, str) else ""
        parsed = Button.parse(data)
        if parsed is None or query.message is None:
            return
        await self.handle(self._button_command(query, str(parsed[0]), parsed[1], update.update_id))

    def _button_command(
        self, query: CallbackQuery, action: str, image_id: int, update_id: int
    ) -> Command:
        message = query.message
        assert message is not None, "checked by on_button"
        return Command(
            platform=PLATFORM,
            user_id=str(query.from_user.id),
            user_name=_user_name(query.from_user),
            chat_id=str(message.chat.id),
            name=action,
            reply_image_id=image_id,
            locale=query.from_user.language_code,
            message_id=str(message.message_id),
            extra=_extra(message) if isinstance(message, Message) else {},
            source=source(update_id),
            received_at=self.arrived(update_id),
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update once, with its traceback, and apologise to the user."""
        log.error("Telegram: an update could not be handled", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        user, message = update.effective_user, update.effective_message
        destination = Destination(
            PLATFORM,
            str(update.effective_chat.id),
            str(user.id) if user is not None else "",
            reply_to=str(message.message_id) if message is not None else None,
        )
        language = user.language_code if user is not None else None
        await self.say(destination, text(language, "error"))

    def _replied_image(self, message: Message) -> int | None:
        """The image id of the bot's result this message replies to, if it does."""
        reply = message.reply_to_message
        if reply is None or reply.from_user is None or reply.from_user.id != message.get_bot().id:
            return None
        known = self.results.get(reply.chat.id, reply.message_id)
        if known is None:
            known = _keyboard_image(reply)
        return known

    def _replied_label(self, message: Message) -> str | None:
        """The picture number the caption of the bot's picture this message replies to
        shows (an album's first), for when no stored id is known for it."""
        reply = message.reply_to_message
        if reply is None or reply.from_user is None or reply.from_user.id != message.get_bot().id:
            return None
        if not _has_picture(reply):
            return None
        # The caption ends with the numbers of its pictures ("… · #12.1 #12.2"); the prompt
        # before them may hold a "#" of its own. An album's caption is on its first picture.
        numbers = (reply.caption or "").rsplit(" · ", 1)[-1]
        found = _IMAGE_REF.findall(numbers)
        return found[0] if found else None

    async def _pictures(self, message: Message | None) -> list[Attachment]:
        """The picture a message carries (photo or file), downloaded within the cap."""
        if message is None:
            return []
        if message.photo:
            size = message.photo[-1]
            name = f"photo-{message.message_id}.jpg"
            return [await self._download(size.file_id, size.file_size, name, "image/jpeg")]
        document = message.document
        if document is None:
            return []
        name, kind = document.file_name or "file", document.mime_type or ""
        return [await self._download(document.file_id, document.file_size, name, kind)]

    async def _download(
        self, file_id: str, size: int | None, name: str, content_type: str
    ) -> Attachment:
        """Download a file, refusing it before the download when it is over the cap."""
        limit = self.config.max_download
        check_download(name, size, limit)
        try:
            file = await self.client.bot.get_file(file_id)
        except BadRequest as error:
            if "too big" not in str(error).lower():
                raise
            raise RequestError.of("file", name, "file_too_big_for_bots", name=name) from None
        check_download(name, file.file_size, limit)
        data = bytes(await file.download_as_bytearray())
        check_download(name, len(data), limit)
        return Attachment(data, name, content_type)
