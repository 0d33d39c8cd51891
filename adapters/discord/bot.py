"""The Discord adapter: slash commands in; answers, progress and pictures out.

How it behaves (DESIGN.md sections 3 and 6):

- `DiscordAdapter.run` owns one discord.py `Client` (no `client.run`): it logs in, syncs the
  slash commands once in `setup_hook` (copied to each guild in `DiscordConfig.guilds`, which
  is instant, or globally when there are none), serves until cancelled and closes cleanly.
  `sync_commands` does the same sync on demand for `kandinsky-bot discord-sync`.
- Every interaction is acknowledged first with `defer(thinking=True)` (ephemeral for personal
  or admin commands), then its pictures are checked (type and size, before any download),
  read, and one `Command` in the shared option grammar goes to the bot.
- Replies: the first answer to an interaction replaces the "thinking" message; later answers
  are follow-ups. Progress edits one message, at most once per `edit_interval` per message
  (edits in between are coalesced, the latest text always lands). Results are a follow-up
  with the pictures, an embed with the caption and persistent buttons (`ResultButton`,
  whose custom id `kb:<action>:<image id>` is all the state they need, so they work after a
  restart or any timeout). Everything a restarted process needs to answer is in
  `Destination.extra` and the `ProgressRef`, as strings.
- Once the 15-minute interaction token has expired (or Discord refuses it with 401/404),
  answers go to the channel as ordinary messages mentioning the user; ephemeral answers are
  never made public that way.
- Uploads respect the interaction's attachment size limit: a PNG over it is re-encoded as
  JPEG at falling quality; if even that is too large, the picture is left out and a notice
  names its id (its recipe stays available with /show).
- Mentions are off by default (prompts may contain `@everyone`); only the channel fallback
  mentions its user. The bot token is never logged.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import mimetypes
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self, TypeVar

import aiohttp
import discord
from discord import app_commands

from bot.chat.adapter import Handle
from bot.chat.command import Attachment, Button, Command, Destination, OutImage
from bot.chat.grammar import ParsedText, format_options
from bot.chat.replier import ProgressRef
from bot.i18n.catalogue import describe_error, normalise_language
from bot.i18n.catalogue import text as sentence
from generation.families import DEFAULT_FAMILIES
from generation.request import MAX_IMAGES, MAX_SEED, SCHEDULERS, Limits, RequestError

log = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])
_Callback = Callable[..., Coroutine[Any, Any, None]]

PLATFORM = "discord"
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 30.0
"""Seconds kept in hand, so that no upload starts on a token about to expire."""
DEFAULT_UPLOAD_LIMIT = 10 * 2**20
MESSAGE_LIMIT = 2000
PICTURE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
PRIVATE = frozenset(
    {"admin", "settings", "quota", "queue", "history", "language", "link", "help", "cancel", "init"}
)
"""Commands whose answers only their user sees (ephemeral)."""
BUTTON_TEMPLATE = r"kb:(?P<action>\w+):(?P<id>\d+)"
JPEG_QUALITIES = (90, 80, 70, 60, 50)

_LIMITS = Limits()
MAX_STEPS = _LIMITS.max_steps
MAX_GUIDANCE = _LIMITS.max_guidance
MAX_PROMPT = _LIMITS.max_prompt_chars
SIZES = ("512x512", "768x768", "1024x1024", "768x512", "512x768", "1024x576", "576x1024")
ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    """What the Discord adapter needs from settings."""

    token: str = field(repr=False)
    guilds: tuple[int, ...] = ()
    max_download: int = 20 * 2**20
    edit_interval: float = 1.0
    shard_count: int | None = None  # set: an AutoShardedClient (many frontends, one token)
    shard_ids: tuple[int, ...] = ()  # the shards this process runs (empty: all of them)


# ---------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class _Target:
    """Where an answer goes, read back from a destination or a progress ref (all strings)."""

    application_id: int
    token: str
    token_time: float
    channel_id: int
    user_id: int
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    private: bool = False

    @classmethod
    def of(cls, destination: Destination) -> _Target:
        """Read the interaction a destination belongs to."""
        extra = destination.extra
        return cls(
            application_id=int(extra.get("application_id") or 0),
            token=extra.get("token", ""),
            token_time=float(extra.get("token_time") or 0),
            channel_id=int(extra.get("channel_id") or destination.chat_id or 0),
            user_id=int(destination.user_id),
            upload_limit=int(extra.get("upload_limit") or DEFAULT_UPLOAD_LIMIT),
            private=extra.get("private") == "1",
        )

    @classmethod
    def of_ref(cls, ref: ProgressRef) -> _Target:
        """Read the interaction a progress message belongs to."""
        return cls(
            application_id=int(ref.get("application_id") or 0),
            token=str(ref.get("token") or ""),
            token_time=float(ref.get("token_time") or 0),
            channel_id=int(ref.get("channel_id") or 0),
            user_id=int(ref.get("user_id") or 0),
        )

    def expired(self) -> bool:
        """Whether the interaction token is (nearly) 15 minutes old or missing."""
        return not self.token or time.time() - self.token_time > TOKEN_LIFETIME - TOKEN_MARGIN

    def ref(self, message_id: int, via: str) -> ProgressRef:
        """A JSON-safe handle on a message, enough to edit it from a restarted process."""
        return {
            "application_id": str(self.application_id),
            "token": self.token,
            "token_time": f"{self.token_time:.3f}",
            "channel_id": str(self.channel_id),
            "user_id": str(self.user_id),
            "message_id": str(message_id),
            "via": via,
        }


def _extra(interaction: discord.Interaction, *, private: bool) -> dict[str, str]:
    """What a restarted process needs to answer this interaction."""
    extra = {
        "application_id": str(interaction.application_id),
        "token": interaction.token,
        "token_time": f"{interaction.created_at.timestamp():.3f}",
        "channel_id": str(interaction.channel_id or ""),
        "upload_limit": str(getattr(interaction, "filesize_limit", DEFAULT_UPLOAD_LIMIT)),
    }
    if private:
        extra["private"] = "1"
    return extra


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One message to send: text, an optional embed, pictures and buttons."""

    content: str
    embed: discord.Embed | None = None
    pictures: tuple[tuple[str, bytes], ...] = ()
    buttons: tuple[Button, ...] = ()

    def parts(self, *, editing: bool = False) -> dict[str, Any]:
        """Keyword arguments for send or edit, with fresh files and view each time."""
        parts: dict[str, Any] = {}
        content = _clip(self.content)
        if content or editing:
            parts["content"] = content or None
        if self.embed is not None or editing:
            parts["embed"] = self.embed
        files = [discord.File(io.BytesIO(data), filename=name) for name, data in self.pictures]
        if files or editing:
            parts["attachments" if editing else "files"] = files
        view = _view(self.buttons)
        if view is not None or editing:
            parts["view"] = view
        return parts


@dataclass(slots=True)
class _Live:
    """An interaction of this process, with whether its "thinking" message was replaced."""

    interaction: discord.Interaction
    answered: bool = False


@dataclass(slots=True)
class _Edits:
    """The latest text for one progress message, and when that message was last edited."""

    ref: ProgressRef
    text: str
    last: float = float("-inf")
    task: asyncio.Task[None] | None = None


def _clip(message: str, limit: int = MESSAGE_LIMIT) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _view(buttons: Sequence[Button]) -> discord.ui.View | None:
    """Persistent buttons: no timeout, and nothing stored but their custom ids."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons[:25]:
        view.add_item(ResultButton(str(button.action), button.image_id, button.label))
    return view


def _fit(image: OutImage, limit: int) -> tuple[str, bytes] | None:
    """The picture as it can be uploaded under `limit` bytes: as is, or as a JPEG; else None."""
    if len(image.data) <= limit:
        return image.filename, image.data
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as picture:
        rgb = picture.convert("RGB")
    stem = image.filename.rsplit(".", 1)[0]
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        rgb.save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= limit:
            return f"{stem}.jpg", buffer.getvalue()
    return None


def _fit_all(
    images: Sequence[OutImage], limit: int, language: str | None = None
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Pictures that fit the upload limit, and a notice (in `language`) for each that does not."""
    fitted: list[tuple[str, bytes]] = []
    notices: list[str] = []
    for image in images:
        picture = _fit(image, limit)
        if picture is None:
            notices.append(
                sentence(language, "upload_too_large", id=image.image_id, limit=limit / 2**20)
            )
        else:
            fitted.append(picture)
    return fitted, notices


def _http_failure(what: str, error: Exception) -> None:
    """Log a failed delivery once: our own bad request is an error, the rest a warning."""
    status = getattr(error, "status", None)
    level = logging.ERROR if status == 400 else logging.WARNING
    log.log(level, "could not %s: %s", what, error)


# ---------------------------------------------------------------------------- adapter


async def _ignore(command: Command) -> None:
    """A handle for a client that only syncs commands."""


class DiscordAdapter:
    """Serves the bot on Discord through slash commands, buttons and a context menu."""

    platform = PLATFORM

    def __init__(
        self,
        handle: Handle,
        config: DiscordConfig,
        *,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        self.handle = handle
        self.config = config
        self._connector = connector
        self._client: _Client | None = None
        self._live: dict[str, _Live] = {}
        self._edits: dict[str, _Edits] = {}

    @property
    def client(self) -> discord.Client | None:
        """The connected client, while `run` runs."""
        return self._client

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> None:
        """Log in, sync commands once, serve until cancelled; close the connection cleanly."""
        client = make_client(self)
        self._client = client
        try:
            async with client:
                try:
                    await client.start(self.config.token)
                finally:
                    await self._settle_edits()
        finally:
            self._client = None

    async def sync(self) -> list[str]:
        """Log in, register the slash commands, log out; return what was registered."""
        client = _Client(self, connector=self._connector, strict_sync=True)
        async with client:
            await client.login(self.config.token)
        return client.synced

    # -- from Discord ----------------------------------------------------------------
    async def submit(
        self,
        interaction: discord.Interaction,
        name: str,
        command_text: str = "",
        pictures: Sequence[discord.Attachment | None] = (),
        *,
        reply_image_id: int | None = None,
    ) -> None:
        """Acknowledge, fetch the pictures, and hand one command to the bot."""
        private = name in PRIVATE
        await interaction.response.defer(thinking=True, ephemeral=private)
        self._remember(interaction)
        command = _command(interaction, name, command_text, private=private)
        given = [picture for picture in pictures if picture is not None]
        try:
            attachments = await self._download(given)
        except RequestError as refusal:
            language = normalise_language(command.locale)
            answer = sentence(language, "bad_input", error=describe_error(refusal, language))
            await self.send_text(command.destination, answer)
            return
        await self.handle(
            replace(
                command,
                attachments=attachments,
                reply_image_id=reply_image_id,
            )
        )

    async def choose_init_picture(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Use a message's picture as the next starting picture (ours by id, others as is)."""
        me = interaction.client.user
        image_id = _result_image_id(message) if me and message.author.id == me.id else None
        if image_id is not None:
            await self.submit(interaction, "init", str(image_id), reply_image_id=image_id)
            return
        picture = next((a for a in message.attachments if _content_type(a) in PICTURE_TYPES), None)
        if picture is not None:  # the bot keeps it for the user's next picture command
            await self.submit(interaction, "init", "", [picture])
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        self._remember(interaction)
        destination = Destination(
            PLATFORM,
            str(interaction.channel_id or ""),
            str(interaction.user.id),
            extra=_extra(interaction, private=True),
        )
        language = normalise_language(str(interaction.locale))
        await self.send_text(destination, sentence(language, "init_picture_missing"))

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log a failed interaction once and tell its user politely, only to them."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        where = f"{_describe(interaction)} from discord:{interaction.user.id}"
        if isinstance(cause, app_commands.AppCommandError):
            log.warning("%s was refused: %s", where, cause)
        else:
            log.error("%s failed", where, exc_info=cause)
        message = sentence(normalise_language(str(interaction.locale)), "error")
        live = self._live.get(interaction.token)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(message, ephemeral=True)
                return
            if live is not None and not live.answered:  # no "thinking" left behind
                live.answered = True
                await interaction.delete_original_response()
            await interaction.followup.send(message, ephemeral=True)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as failure:
            _http_failure("tell the user about it", failure)

    def _remember(self, interaction: discord.Interaction) -> None:
        """Keep the interaction for its lifetime: its first answer replaces "thinking"."""
        now = time.time()
        for token, live in list(self._live.items()):
            if now - live.interaction.created_at.timestamp() > TOKEN_LIFETIME:
                del self._live[token]
        self._live[interaction.token] = _Live(interaction)

    async def _download(self, pictures: Sequence[discord.Attachment]) -> tuple[Attachment, ...]:
        """Check every picture's type and size first, then read them (RequestError if bad)."""
        for picture in pictures:
            _check_picture(picture, self.config.max_download)
        attachments = []
        for picture in pictures:
            try:
                data = await picture.read()
            except (discord.HTTPException, aiohttp.ClientError) as error:
                log.warning("could not download %s: %s", picture.filename, error)
                raise RequestError.of(
                    "image", picture.filename, "download_failed", name=picture.filename
                ) from None
            attachments.append(Attachment(data, picture.filename, _content_type(picture)))
        return tuple(attachments)

    # -- replier ---------------------------------------------------------------------
    async def send_text(self, destination: Destination, text: str) -> None:
        """Answer: replace "thinking", else a follow-up, else (token expired) the channel."""
        await self._deliver(_Target.of(destination), _Outgoing(text))

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the progress message (like any answer) or edit it, throttled per message."""
        if ref and ref.get("message_id"):
            self._schedule_edit(ref, text)
            return ref
        target = _Target.of(destination)
        sent = await self._deliver(target, _Outgoing(text))
        if sent is None:
            return {}
        new_ref = target.ref(*sent)
        self._edits[new_ref["message_id"]] = _Edits(new_ref, text, time.monotonic())
        return new_ref

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
    ) -> None:
        """Send the pictures with an embed holding the caption, and persistent buttons."""
        target = _Target.of(destination)
        language = destination.extra.get("language")
        pictures, notices = await asyncio.to_thread(_fit_all, images, target.upload_limit, language)
        embed = discord.Embed(description=caption, colour=discord.Colour.blurple())
        if pictures:
            embed.set_image(url=f"attachment://{pictures[0][0]}")
        outgoing = _Outgoing("\n".join(notices), embed, tuple(pictures), tuple(buttons))
        await self._deliver(target, outgoing)

    async def _deliver(self, target: _Target, outgoing: _Outgoing) -> tuple[int, str] | None:
        """Send through the interaction while its token lives, else in the channel.

        Returns the message id and the way it went ("webhook" or "channel"), or None when
        it could not be delivered (logged).
        """
        client = self._client
        if client is None or client.is_closed():
            log.warning("not connected to Discord; an answer to discord:%s is lost", target.user_id)
            return None
        try:
            if not target.expired():
                try:
                    answer = await self._answer(client, target, outgoing)
                    return answer.id, "webhook"
                except discord.HTTPException as error:
                    if error.status not in (401, 404):
                        raise
                    log.info(
                        "interaction token refused (HTTP %s); answering in the channel",
                        error.status,
                    )
            message = await self._post_in_channel(client, target, outgoing)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            _http_failure(f"answer discord:{target.user_id}", error)
            return None
        return None if message is None else (message.id, "channel")

    async def _answer(
        self, client: _Client, target: _Target, outgoing: _Outgoing
    ) -> discord.Message:
        live = self._live.get(target.token)
        if live is not None and not live.answered:
            live.answered = True
            return await live.interaction.edit_original_response(**outgoing.parts(editing=True))
        if live is not None:
            followup = live.interaction.followup
            parts = outgoing.parts()
            return await followup.send(**parts, ephemeral=target.private, wait=True)
        webhook = discord.Webhook.partial(target.application_id, target.token, client=client)
        return await webhook.send(**outgoing.parts(), wait=True)

    async def _post_in_channel(
        self, client: _Client, target: _Target, outgoing: _Outgoing
    ) -> discord.Message | None:
        """An ordinary channel message mentioning the user (never for private answers)."""
        if target.private or not target.channel_id:
            log.warning("an answer to discord:%s came too late to deliver", target.user_id)
            return None
        channel = client.get_partial_messageable(target.channel_id)
        mentioned = replace(outgoing, content=f"<@{target.user_id}> {outgoing.content}".strip())
        users = discord.AllowedMentions(users=[discord.Object(id=target.user_id)])
        return await channel.send(**mentioned.parts(), allowed_mentions=users)

    # -- progress edits ----------------------------------------------------------------
    def _schedule_edit(self, ref: ProgressRef, text: str) -> None:
        """Edit soon: at once if the message was not edited within the interval, else later."""
        key = str(ref["message_id"])
        state = self._edits.get(key)
        if state is None:
            state = self._edits[key] = _Edits(ref, text)
        state.text, state.ref = text, ref
        if state.task is None:
            delay = max(0.0, state.last + self.config.edit_interval - time.monotonic())
            state.task = asyncio.create_task(self._edit_later(key, delay))
        self._forget_old_edits()

    async def _edit_later(self, key: str, delay: float) -> None:
        await asyncio.sleep(delay)
        state = self._edits[key]
        state.task, state.last = None, time.monotonic()
        try:
            await self._edit_now(state.ref, state.text)
        except Exception:  # a background task: log it here, once
            log.exception("editing progress message %s failed", key)

    async def _edit_now(self, ref: ProgressRef, text: str) -> None:
        """Edit through the interaction while its token lives, else through the channel."""
        client = self._client
        if client is None or client.is_closed():
            return
        target = _Target.of_ref(ref)
        message_id = int(ref["message_id"])
        try:
            if ref.get("via") != "channel" and not target.expired():
                webhook = discord.Webhook.partial(
                    target.application_id, target.token, client=client
                )
                try:
                    await webhook.edit_message(message_id, content=_clip(text))
                    return
                except discord.HTTPException as error:
                    if error.status not in (401, 404):
                        raise
            channel = client.get_partial_messageable(target.channel_id)
            await channel.get_partial_message(message_id).edit(content=_clip(text))
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            _http_failure(f"edit progress message {message_id}", error)

    def _forget_old_edits(self, keep: float = 600.0) -> None:
        if len(self._edits) < 256:
            return
        now = time.monotonic()
        for key, state in list(self._edits.items()):
            if state.task is None and now - state.last > keep:
                del self._edits[key]

    async def _settle_edits(self) -> None:
        """On the way out, make the pending progress edits at once (bounded)."""
        pending = [state for state in self._edits.values() if state.task is not None]
        for state in pending:
            assert state.task is not None
            state.task.cancel()
            state.task = None
        if not pending:
            return
        try:
            async with asyncio.timeout(5):
                await asyncio.gather(*(self._edit_now(s.ref, s.text) for s in pending))
        except TimeoutError:
            log.warning("gave up on %d progress edits while closing", len(pending))


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
        extra=_extra(interaction, private=private),
    )


def _describe(interaction: discord.Interaction) -> str:
    command = interaction.command
    if command is not None:
        return f"/{command.qualified_name}"
    return f"component {interaction.data.get('custom_id') if interaction.data else '?'}"


def _content_type(picture: discord.Attachment) -> str:
    guessed = picture.content_type or mimetypes.guess_type(picture.filename)[0] or ""
    return guessed.split(";")[0].strip().lower()


def _check_picture(picture: discord.Attachment, max_bytes: int) -> None:
    """Refuse a picture by its declared type and size, before reading it."""
    kind = _content_type(picture)
    if kind not in PICTURE_TYPES:
        if not kind:
            raise RequestError.of(
                "image", picture.filename, "file_unknown_type", name=picture.filename
            )
        raise RequestError.of(
            "image", picture.filename, "file_wrong_type", name=picture.filename, kind=kind
        )
    if picture.size > max_bytes:
        raise RequestError.of(
            "image",
            picture.size,
            "file_too_large",
            name=picture.filename,
            size=picture.size / 2**20,
            limit=max_bytes / 2**20,
        )


def _result_image_id(message: discord.Message) -> int | None:
    """The image id of one of our results, from its "use as init" button."""
    for row in message.components:
        for child in getattr(row, "children", ()):
            match = re.fullmatch(BUTTON_TEMPLATE, getattr(child, "custom_id", None) or "")
            if match is not None and match["action"] == "init":
                return int(match["id"])
    return None


# ---------------------------------------------------------------------------- client


class _Client(discord.Client):
    """discord.py's client with our command tree and persistent buttons."""

    def __init__(
        self,
        adapter: DiscordAdapter,
        *,
        connector: aiohttp.BaseConnector | None,
        strict_sync: bool = False,
        **sharding: Any,
    ) -> None:
        super().__init__(
            intents=_intents(),
            connector=connector,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            **sharding,
        )
        self.adapter = adapter
        self.strict_sync = strict_sync
        self.synced: list[str] = []
        self.tree = _Tree(self)
        for command in _commands():
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        """Register the buttons and sync the commands, once per login."""
        self.add_dynamic_items(ResultButton)
        try:
            self.synced = await _sync(self.tree, self.adapter.config.guilds)
        except discord.HTTPException as error:
            if self.strict_sync:
                raise
            log.error(
                "could not sync the slash commands (HTTP %s: %s); "
                "run `kandinsky-bot discord-sync` once that is fixed",
                error.status,
                error.text,
            )
            return
        for line in self.synced:
            log.info("%s", line)


class _ShardedClient(_Client, discord.AutoShardedClient):
    """Our client on several gateway shards (`KBOT_DISCORD_SHARD_COUNT` / `_SHARD_IDS`)."""


def make_client(adapter: DiscordAdapter) -> _Client:
    """One client, or an auto-sharded one when a shard count is configured."""
    config = adapter.config
    if config.shard_count is None:
        return _Client(adapter, connector=adapter._connector)
    return _ShardedClient(
        adapter,
        connector=adapter._connector,
        shard_count=config.shard_count,
        shard_ids=list(config.shard_ids) or None,
    )


class _Tree(app_commands.CommandTree[_Client]):
    """The command tree; one handler logs failures and answers politely."""

    async def on_error(
        self, interaction: discord.Interaction[_Client], error: app_commands.AppCommandError, /
    ) -> None:
        """Log once and tell the user."""
        await interaction.client.adapter.report_error(interaction, error)


def _intents() -> discord.Intents:
    """The default intents, without the privileged ones (members, presences, content)."""
    intents = discord.Intents.default()
    intents.members = intents.presences = intents.message_content = False
    return intents


async def _sync(tree: app_commands.CommandTree[Any], guilds: Sequence[int]) -> list[str]:
    """Copy the commands to each guild and sync there (instant), or sync globally."""
    if not guilds:
        synced = await tree.sync()
        names = ", ".join(sorted(command.name for command in synced))
        return [f"synced {len(synced)} global commands (may take up to an hour): {names}"]
    lines = []
    for guild_id in guilds:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        names = ", ".join(sorted(command.name for command in synced))
        lines.append(f"synced {len(synced)} commands to guild {guild_id}: {names}")
    return lines


async def sync_commands(
    token: str, guilds: Sequence[int], *, connector: aiohttp.BaseConnector | None = None
) -> list[str]:
    """Log in, sync the slash commands to `guilds` (or globally), log out; lines to print."""
    config = DiscordConfig(token=token, guilds=tuple(guilds))
    return await DiscordAdapter(_ignore, config, connector=connector).sync()


def _adapter(interaction: discord.Interaction) -> DiscordAdapter:
    client = interaction.client
    if not isinstance(client, _Client):
        raise TypeError(f"interaction from an unexpected client {client!r}")
    return client.adapter


# ---------------------------------------------------------------------------- buttons


class ResultButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE
):
    """A button under a result; its custom id `kb:<action>:<image id>` is all its state."""

    def __init__(self, action: str, image_id: int, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action,
                style=discord.ButtonStyle.secondary,
                custom_id=f"kb:{action}:{image_id}",
            )
        )
        self.action = action
        self.image_id = image_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from a pressed custom id."""
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["action"], int(match["id"]), label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Run the button's action on its image, as its presser."""
        adapter = _adapter(interaction)
        try:
            await adapter.submit(interaction, self.action, str(self.image_id))
        except Exception as error:
            await adapter.report_error(interaction, error)


# ---------------------------------------------------------------------- command text


def command_text(prompt: str, **options: object) -> str:
    """Write a prompt and options in the shared grammar: `a fox --model 2.2 --seed 4`."""
    parts = [prompt.strip()] if prompt.strip() else []
    for name, value in options.items():
        if value is None or value is False or value == "":
            continue
        if value is True:
            parts.append(f"--{name}")
        elif name == "neg":
            parts.append(format_options(ParsedText("", negative_prompt=str(value))))
        else:
            parts.append(f"--{name} {''.join(str(value).split())}")
    return " ".join(parts)


def _shape(size: str | None) -> dict[str, str | None]:
    """`--ar` for an aspect ratio like 16:9, `--size` for 768x512."""
    if size and ":" in size:
        return {"ar": size}
    return {"size": size}


def _user_ref(user: str) -> str:
    """A mention or a bare snowflake becomes `discord:<id>`; other forms pass as typed."""
    user = user.strip()
    mention = re.fullmatch(r"<@!?(\d+)>", user)
    if mention is not None:
        return f"discord:{mention.group(1)}"
    return f"discord:{user}" if user.isdigit() else user


def _words(*parts: object) -> str:
    return " ".join(str(part) for part in parts if part is not None and part != "")


# -------------------------------------------------------------------- autocomplete


def _suggest(values: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    return [app_commands.Choice(name=v, value=v) for v in values if typed in v.lower()][:25]


async def complete_model(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Kandinsky versions."""
    return [
        app_commands.Choice(name=title, value=name)
        for name, title in DEFAULT_FAMILIES.choices()
        if current.strip().lower() in title.lower()
    ]


async def complete_scheduler(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The schedulers users may choose."""
    return _suggest(SCHEDULERS, current)


async def complete_size(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Common sizes and aspect ratios."""
    return _suggest((*SIZES, *ASPECTS), current)


# ------------------------------------------------------------------- slash commands

_PROMPT = "what to draw (options such as --prior-steps 10 may follow)"
_IMAGE = "a PNG, JPEG or WebP picture"
_DESCRIBE: dict[str, str] = {
    "negative": "what to avoid",
    "model": "Kandinsky version: 2.1, 2.2 or 3",
    "size": "WIDTHxHEIGHT in multiples of 64 (768x512) or an aspect ratio (16:9)",
    "seed": "the same seed and settings make the same picture",
    "steps": "denoising steps: more is slower and finer",
    "guidance": "how closely to follow the prompt",
    "scheduler": "the sampler",
    "count": "how many pictures",
    "strength": "how much to change the picture: 0 keeps it, 1 ignores it",
}
_Seed = app_commands.Range[int, 0, MAX_SEED]
_Steps = app_commands.Range[int, 1, MAX_STEPS]
_Guidance = app_commands.Range[float, 0.0, MAX_GUIDANCE]
_Count = app_commands.Range[int, 1, MAX_IMAGES]
_Strength = app_commands.Range[float, 0.0, 1.0]
_Id = app_commands.Range[int, 1, 2**53 - 1]
_Prompt = app_commands.Range[str, 1, MAX_PROMPT]


def _described(**extra: str) -> Callable[[_F], _F]:
    """`describe` with the shared option texts (those the command has) plus `extra`."""

    def decorate(callback: _F) -> _F:
        names = inspect.signature(callback).parameters
        texts = {name: line for name, line in (_DESCRIBE | extra).items() if name in names}
        return app_commands.describe(**texts)(callback)

    return decorate


@_described(prompt=_PROMPT)
@app_commands.autocomplete(model=complete_model, size=complete_size, scheduler=complete_scheduler)
async def imagine(
    interaction: discord.Interaction,
    prompt: _Prompt,
    negative: str | None = None,
    model: str | None = None,
    size: str | None = None,
    seed: _Seed | None = None,
    steps: _Steps | None = None,
    guidance: _Guidance | None = None,
    scheduler: str | None = None,
    count: _Count | None = None,
) -> None:
    """Draw a picture from a prompt."""
    words = command_text(
        prompt,
        neg=negative,
        model=model,
        **_shape(size),
        seed=seed,
        steps=steps,
        cfg=guidance,
        scheduler=scheduler,
        n=count,
    )
    await _adapter(interaction).submit(interaction, "imagine", words)


@_described(prompt=_PROMPT, image=f"{_IMAGE} (or the one chosen with Use as init image)")
@app_commands.autocomplete(model=complete_model, size=complete_size)
async def img2img(
    interaction: discord.Interaction,
    prompt: _Prompt,
    image: discord.Attachment | None = None,
    strength: _Strength | None = None,
    negative: str | None = None,
    model: str | None = None,
    size: str | None = None,
    seed: _Seed | None = None,
    steps: _Steps | None = None,
) -> None:
    """Redraw a picture from a prompt."""
    words = command_text(
        prompt, strength=strength, neg=negative, model=model, **_shape(size), seed=seed, steps=steps
    )
    await _adapter(interaction).submit(interaction, "img2img", words, [image])


@_described(
    prompt=_PROMPT,
    image=f"{_IMAGE}; a transparent PNG needs no mask",
    mask="white = repaint, black = keep",
)
@app_commands.autocomplete(model=complete_model, size=complete_size)
async def inpaint(
    interaction: discord.Interaction,
    image: discord.Attachment,
    prompt: _Prompt,
    mask: discord.Attachment | None = None,
    negative: str | None = None,
    model: str | None = None,
    size: str | None = None,
    seed: _Seed | None = None,
    steps: _Steps | None = None,
) -> None:
    """Repaint the white part of a mask, or the transparent part of a PNG."""
    words = command_text(prompt, neg=negative, model=model, **_shape(size), seed=seed, steps=steps)
    await _adapter(interaction).submit(interaction, "inpaint", words, [image, mask])


@_described(
    items="texts and pictures with weights: a cat::0.3 | #1::0.7 (#1 is the first picture)",
    image1="picture #1",
    image2="picture #2",
    image3="picture #3",
    image4="picture #4",
)
@app_commands.autocomplete(model=complete_model, size=complete_size)
async def mix(
    interaction: discord.Interaction,
    items: _Prompt,
    image1: discord.Attachment | None = None,
    image2: discord.Attachment | None = None,
    image3: discord.Attachment | None = None,
    image4: discord.Attachment | None = None,
    model: str | None = None,
    size: str | None = None,
    seed: _Seed | None = None,
    steps: _Steps | None = None,
    count: _Count | None = None,
) -> None:
    """Blend texts and pictures with weights."""
    words = command_text(items, model=model, **_shape(size), seed=seed, steps=steps, n=count)
    pictures = [image1, image2, image3, image4]
    await _adapter(interaction).submit(interaction, "mix", words, pictures)


@_described(
    prompt=_PROMPT,
    image=f"{_IMAGE} whose depth to keep (or the one chosen with Use as init image)",
    use_as_init="also start from the picture itself",
)
@app_commands.autocomplete(size=complete_size)
async def depth(
    interaction: discord.Interaction,
    prompt: _Prompt,
    image: discord.Attachment | None = None,
    use_as_init: bool | None = None,
    strength: _Strength | None = None,
    size: str | None = None,
    seed: _Seed | None = None,
    steps: _Steps | None = None,
) -> None:
    """Draw following the depth of a picture (Kandinsky 2.2 ControlNet)."""
    words = command_text(
        prompt, init=use_as_init, strength=strength, **_shape(size), seed=seed, steps=steps
    )
    await _adapter(interaction).submit(interaction, "depth", words, [image])


@app_commands.describe(page="which page, newest first")
async def history(
    interaction: discord.Interaction, page: app_commands.Range[int, 1, 10_000] | None = None
) -> None:
    """List your pictures with their ids."""
    await _adapter(interaction).submit(interaction, "history", _words(page))


@app_commands.describe(id="the image id, as shown under each result")
async def show(interaction: discord.Interaction, id: _Id) -> None:
    """Show an image's recipe."""
    await _adapter(interaction).submit(interaction, "show", str(id))


@app_commands.describe(id="the image id, as shown under each result")
async def reroll(interaction: discord.Interaction, id: _Id) -> None:
    """Draw an image's recipe again with a new seed."""
    await _adapter(interaction).submit(interaction, "reroll", str(id))


@app_commands.describe(id="the image id, as shown under each result")
async def variations(interaction: discord.Interaction, id: _Id) -> None:
    """Make variations of one of your images."""
    await _adapter(interaction).submit(interaction, "variations", str(id))


@_described(reset="forget your defaults")
@app_commands.autocomplete(model=complete_model, size=complete_size)
async def settings(
    interaction: discord.Interaction,
    model: str | None = None,
    size: str | None = None,
    steps: _Steps | None = None,
    negative: str | None = None,
    reset: bool | None = None,
) -> None:
    """Show or change your defaults."""
    options = command_text("", model=model, **_shape(size), steps=steps, neg=negative)
    words = "reset" if reset else options
    await _adapter(interaction).submit(interaction, "settings", words)


async def quota(interaction: discord.Interaction) -> None:
    """Show how many pictures you have left today."""
    await _adapter(interaction).submit(interaction, "quota")


async def queue(interaction: discord.Interaction) -> None:
    """Show where your jobs are in the queue."""
    await _adapter(interaction).submit(interaction, "queue")


@app_commands.describe(job="the job id (your newest waiting job when left out)")
async def cancel(interaction: discord.Interaction, job: _Id | None = None) -> None:
    """Cancel one of your waiting jobs."""
    await _adapter(interaction).submit(interaction, "cancel", _words(job))


@app_commands.describe(code="the language I speak with you")
@app_commands.choices(
    code=[
        app_commands.Choice(name="English", value="en"),
        app_commands.Choice(name="Русский", value="ru"),
        app_commands.Choice(name="العربية", value="ar"),
    ]
)
async def language(interaction: discord.Interaction, code: str) -> None:
    """Choose the language I speak with you."""
    await _adapter(interaction).submit(interaction, "language", code)


HELP_TOPICS = (
    "imagine",
    "img2img",
    "inpaint",
    "mix",
    "depth",
    "reroll",
    "variations",
    "init",
    "history",
    "show",
    "settings",
    "quota",
    "queue",
    "cancel",
    "language",
    "link",
    "admin",
)


@app_commands.describe(command="a command to explain with an example")
@app_commands.choices(command=[app_commands.Choice(name=n, value=n) for n in HELP_TOPICS])
async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
    """Explain what I can do, or one command with an example."""
    await _adapter(interaction).submit(interaction, "help", _words(command))


@app_commands.describe(code="the code another platform gave you (leave out to get one)")
async def link(interaction: discord.Interaction, code: str | None = None) -> None:
    """Link this account with your account on another platform."""
    await _adapter(interaction).submit(interaction, "link", _words(code))


async def use_as_init(interaction: discord.Interaction, message: discord.Message) -> None:
    """Use this message's picture as the starting picture of your next command."""
    await _adapter(interaction).choose_init_picture(interaction, message)


# ------------------------------------------------------------------------------ admin

_USER = "discord:ID, telegram:ID, #number or a @mention"


async def _admin(interaction: discord.Interaction, *words: object) -> None:
    await _adapter(interaction).submit(interaction, "admin", _words(*words))


@app_commands.describe(user=_USER, reason="shown to the user")
async def admin_ban(interaction: discord.Interaction, user: str, reason: str | None = None) -> None:
    """Ban a user."""
    await _admin(interaction, "ban", _user_ref(user), reason)


@app_commands.describe(user=_USER)
async def admin_unban(interaction: discord.Interaction, user: str) -> None:
    """Lift a ban."""
    await _admin(interaction, "unban", _user_ref(user))


@app_commands.describe(action="set the daily limit, grant extra credits, or reset today's use")
@app_commands.describe(user=_USER, amount="the limit or the credits")
async def admin_quota(
    interaction: discord.Interaction,
    action: Literal["set", "grant", "reset"],
    user: str,
    amount: app_commands.Range[int, -1_000_000, 1_000_000] | None = None,
) -> None:
    """Change a user's quota."""
    await _admin(interaction, "quota", action, _user_ref(user), amount)


async def admin_stats(interaction: discord.Interaction) -> None:
    """Users, jobs, images today, wait and run times."""
    await _admin(interaction, "stats")


async def admin_queue(interaction: discord.Interaction) -> None:
    """Every waiting and running job."""
    await _admin(interaction, "queue")


@app_commands.describe(job="the job id")
async def admin_cancel(interaction: discord.Interaction, job: _Id) -> None:
    """Cancel any job, waiting or running."""
    await _admin(interaction, "cancel", job)


@app_commands.describe(message="what users are told")
async def admin_pause(interaction: discord.Interaction, message: str | None = None) -> None:
    """Stop taking new jobs."""
    await _admin(interaction, "pause", message)


async def admin_resume(interaction: discord.Interaction) -> None:
    """Take new jobs again."""
    await _admin(interaction, "resume")


async def admin_models(interaction: discord.Interaction) -> None:
    """Loaded pipelines and available models."""
    await _admin(interaction, "models")


@app_commands.describe(model="the Kandinsky version to load")
async def admin_preload(
    interaction: discord.Interaction, model: Literal["2.1", "2.2", "3"]
) -> None:
    """Load a model before anyone asks for it."""
    await _admin(interaction, "preload", model)


@app_commands.describe(model="the Kandinsky version to free (all when left out)")
async def admin_unload(
    interaction: discord.Interaction, model: Literal["2.1", "2.2", "3"] | None = None
) -> None:
    """Free a model's memory."""
    await _admin(interaction, "unload", model)


@app_commands.describe(count="how many entries (default 20)")
async def admin_audit(
    interaction: discord.Interaction, count: app_commands.Range[int, 1, 100] | None = None
) -> None:
    """The latest admin actions."""
    await _admin(interaction, "audit", count)


_ADMIN: dict[str, _Callback] = {
    "ban": admin_ban,
    "unban": admin_unban,
    "quota": admin_quota,
    "stats": admin_stats,
    "queue": admin_queue,
    "cancel": admin_cancel,
    "pause": admin_pause,
    "resume": admin_resume,
    "models": admin_models,
    "preload": admin_preload,
    "unload": admin_unload,
    "audit": admin_audit,
}
_COMMANDS: dict[str, _Callback] = {
    "imagine": imagine,
    "img2img": img2img,
    "inpaint": inpaint,
    "mix": mix,
    "depth": depth,
    "history": history,
    "show": show,
    "reroll": reroll,
    "variations": variations,
    "settings": settings,
    "quota": quota,
    "queue": queue,
    "cancel": cancel,
    "language": language,
    "help": help_,
    "link": link,
}


def _commands() -> list[
    app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
]:
    """Fresh command objects for one tree (the callbacks above carry their options)."""
    built: list[
        app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
    ] = [app_commands.command(name=name)(callback) for name, callback in _COMMANDS.items()]
    admin = app_commands.Group(
        name="admin",
        description="Commands for the bot's admins (listed in KBOT_ADMINS).",
        default_permissions=discord.Permissions(manage_guild=True),
    )
    for name, callback in _ADMIN.items():
        admin.add_command(app_commands.command(name=name)(callback))
    built.append(admin)
    built.append(app_commands.ContextMenu(name="Use as init image", callback=use_as_init))
    return built
