"""Discord interactions in, the bot's commands out.

Each interaction's pictures are checked (type and size, before any download) and read, and
one `Command` in the shared option grammar goes to the bot, named after the interaction
(`Command.source`). The bot's first answer, given once the job is stored, is the
interaction's response when it comes within `DiscordConfig.answer_within` seconds;
otherwise the interaction is deferred then (`defer(thinking=True)`, ephemeral for private
commands) and the answer replaces "thinking" (`opening`). A picture the adapter will not
take becomes the command's `refusal`, which the bot words in the user's language. An Edit
(the button, or the "Edit this image" message command) first asks for the instruction with
a modal (`asking`); the modal's answer is the /edit.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import aiohttp
import discord

from adapters.discord import opening
from adapters.discord.asking import WaitingPictures, edit_modal, image_question, submitted
from adapters.discord.client import log_http_failure
from adapters.discord.config import DiscordConfig
from adapters.discord.delivery import LiveInteractions
from adapters.discord.target import interaction_extra
from bot.chat.adapter import Handle
from bot.chat.command import Action, Attachment, Button, Command, Destination
from bot.chat.downloads import PICTURE_TYPES, check_download, check_picture_type
from generation.request import RequestError

log = logging.getLogger(__name__)

PLATFORM = "discord"
PRIVATE = frozenset(
    {"admin", "settings", "quota", "queue", "history", "language", "link", "help", "cancel", "init"}
)
"""Commands whose answers only their user sees (ephemeral)."""

Say = Callable[[Destination, str], Awaitable[None]]


def content_type(picture: discord.Attachment) -> str:
    """A file's declared type, else the one its name suggests (lower case, no parameters)."""
    guessed = picture.content_type or mimetypes.guess_type(picture.filename)[0] or ""
    return guessed.split(";")[0].strip().lower()


def _check(picture: discord.Attachment, max_bytes: int) -> None:
    """Refuse a picture by its declared type and size, before reading it."""
    check_picture_type(picture.filename, content_type(picture))
    check_download(picture.filename, picture.size, max_bytes)


def _result_image_id(message: discord.Message) -> int | None:
    """The image id of one of our results, from its "use as init" button."""
    for row in message.components:
        for child in getattr(row, "children", ()):
            parsed = Button.parse(getattr(child, "custom_id", None) or "")
            if parsed is not None and parsed[0] is Action.USE_AS_INIT:
                return parsed[1]
    return None


def _command(interaction: discord.Interaction, name: str, words: str, *, private: bool) -> Command:
    """The bot's command for an interaction (pictures are added once fetched)."""
    return Command(
        platform=PLATFORM,
        user_id=str(interaction.user.id),
        user_name=interaction.user.name,
        chat_id=str(interaction.channel_id or ""),
        name=name,
        text=words.strip(),
        locale=str(interaction.locale),
        message_id=str(interaction.id),
        extra=interaction_extra(interaction, private=private),
        source=f"{PLATFORM}:interaction:{interaction.id}",
    )


class Inbound:
    """Acknowledges interactions and hands the bot one command for each."""

    def __init__(self, config: DiscordConfig, handle: Handle, live: LiveInteractions) -> None:
        self.config = config
        self.handle = handle
        self.live = live
        self.waiting = WaitingPictures()

    async def submit(
        self,
        interaction: discord.Interaction,
        name: str,
        command_text: str = "",
        pictures: Sequence[discord.Attachment | None] = (),
        *,
        reply_image_id: int | None = None,
    ) -> None:
        """Hand one command to the bot; defer if its first answer is not ready in time."""
        private = name in PRIVATE
        self.live.remember(interaction)
        command = _command(interaction, name, command_text, private=private)
        given = [picture for picture in pictures if picture is not None]
        work = asyncio.ensure_future(self._handle(command, given, reply_image_id))
        try:
            done, _ = await asyncio.wait([work], timeout=self.config.answer_within)
            if not done:
                await self._defer(interaction, private)
            await work
        except asyncio.CancelledError:
            work.cancel()
            raise

    async def _defer(self, interaction: discord.Interaction, private: bool) -> None:
        try:
            await opening.defer(interaction, ephemeral=private)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            log_http_failure("defer an interaction", error)

    async def _handle(
        self,
        command: Command,
        given: Sequence[discord.Attachment],
        reply_image_id: int | None,
    ) -> None:
        """Fetch the pictures and hand the command to the bot."""
        try:
            attachments = await self._download(given)
        except RequestError as refusal:
            await self.handle(replace(command, refusal=refusal))
            return
        await self.handle(replace(command, attachments=attachments, reply_image_id=reply_image_id))

    async def press(self, interaction: discord.Interaction, button: Button) -> None:
        """A result button: run its action on its image, as its presser (Edit asks first)."""
        if button.action is Action.EDIT:
            await self._ask_edit(interaction, image_question(button.image_id))
            return
        await self.submit(interaction, str(button.action), reply_image_id=button.image_id)

    async def edit_picture(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """The "Edit this image" message command: ask what to change in a message's picture
        (one of our results by its id).

        A message without a picture goes to the bot as an /edit without one: the first file
        is refused by its type, and with no file the bot says how to give a picture.
        """
        me = interaction.client.user
        image_id = _result_image_id(message) if me and message.author.id == me.id else None
        if image_id is not None:
            await self._ask_edit(interaction, image_question(image_id))
            return
        pictures = [a for a in message.attachments if content_type(a) in PICTURE_TYPES]
        if not pictures:
            await self.submit(interaction, "edit", "", message.attachments[:1])
            return
        await self._ask_edit(interaction, self.waiting.hold(interaction.id, pictures[0]))

    async def _ask_edit(self, interaction: discord.Interaction, custom_id: str) -> None:
        limit = self.config.limits.max_prompt_chars
        await interaction.response.send_modal(edit_modal(custom_id, str(interaction.locale), limit))

    async def modal_submitted(self, interaction: discord.Interaction) -> None:
        """An edit modal came back: its instruction is an /edit of what it asked about."""
        answer = submitted(interaction.data or {})
        if answer is None:
            return
        custom_id, instruction = answer
        parsed = Button.parse(custom_id)
        if parsed is not None:
            await self.submit(interaction, "edit", instruction, reply_image_id=parsed[1])
            return
        await self.submit(interaction, "edit", instruction, [self.waiting.take(custom_id)])

    async def choose_init_picture(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Use a message's picture as the next starting picture (ours by id, others as is).

        A message without a picture is refused by the type of what it carries instead.
        """
        me = interaction.client.user
        image_id = _result_image_id(message) if me and message.author.id == me.id else None
        if image_id is not None:
            await self.submit(interaction, "init", reply_image_id=image_id)
            return
        pictures = [a for a in message.attachments if content_type(a) in PICTURE_TYPES]
        # The bot keeps the picture for the user's next picture command; with no picture,
        # the first file is refused by its type, and with no file the bot asks for an id.
        await self.submit(interaction, "init", "", (pictures or message.attachments)[:1])

    async def _download(self, pictures: Sequence[discord.Attachment]) -> tuple[Attachment, ...]:
        """Check every picture's type and size first, then read them (RequestError if bad)."""
        for picture in pictures:
            _check(picture, self.config.max_download)
        attachments = []
        for picture in pictures:
            try:
                data = await picture.read()
            except (discord.HTTPException, aiohttp.ClientError) as error:
                log.warning("could not download %s: %s", picture.filename, error)
                raise RequestError.of(
                    "image", picture.filename, "download_failed", name=picture.filename
                ) from None
            attachments.append(Attachment(data, picture.filename, content_type(picture)))
        return tuple(attachments)
