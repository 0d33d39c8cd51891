"""The Telegram adapter: python-telegram-bot updates in, the bot's commands out, replies back.

Input: `/command text` with the shared option grammar (`/imagine@Bot ...` in groups), plain
text as an /imagine prompt in private chats, pictures from photos and files (the message's
own, or those of the message it replies to), albums gathered into one command, and button
presses. Replying to one of the bot's results names its image (`Command.reply_image_id`).

Output: status messages created once and edited in place under Telegram's flood limits,
results as photos (or files when too large for a photo) with an inline keyboard, texts split
at Telegram's limit. The token never reaches a log line.

The adapter owns the python-telegram-bot `Application`'s lifecycle in `run()` (no
`run_polling`), so it shares the event loop with the rest of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import secrets
import struct
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType, FileSizeLimit, MessageLimit
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.chat.adapter import Handle
from bot.chat.command import Attachment, Button, Command, Destination, OutImage
from bot.chat.replier import ProgressRef
from bot.i18n.catalogue import CATALOGUE, EN, describe_error, normalise_language, text
from generation.request import RequestError

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ("message", "callback_query")
MENU_LANGUAGES = (("en", None), ("ru", "ru"), ("ar", "ar"))
HIDDEN_COMMANDS = frozenset({"admin"})
REMEMBERED_RESULTS = 10_000
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_ASPECT = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?=\s|$)(.*)", re.DOTALL)
_IMAGE_REF = re.compile(r"#(\d+)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """How fast the adapter talks, kept under Telegram's flood limits.

    A group may receive about 20 messages a minute; status edits take at most
    `group_edits_per_minute` of them so queue answers and results still get through.
    """

    private_edit_seconds: float = 1.0
    group_edit_seconds: float = 3.0
    group_edits_per_minute: int = 12
    private_action_seconds: float = 5.0
    group_action_seconds: float = 20.0
    messages_per_second: int = 30
    group_messages_per_minute: int = 20
    retries: int = 3


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """What the Telegram adapter needs; built from `bot.app.settings.Settings` by the runner."""

    token: str = field(repr=False)
    base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    listen: str = "0.0.0.0:8443"
    private_prompts: bool = True
    max_download: int = FileSizeLimit.FILESIZE_DOWNLOAD
    album_seconds: float = 1.0
    poll_seconds: int = 10
    limits: FloodLimits = field(default_factory=FloodLimits)


# The name python-telegram-bot gives its long-polling task.
POLLING_TASK = "Updater:start_polling:polling_task"


class FileRefused(RequestError):
    """A file the adapter will not download; `describe_error` words it for the user."""


# -- the token never reaches a log line ---------------------------------------------------
class TokenFilter(logging.Filter):
    """Removes the bot token from log records: message, arguments and exception text.

    httpx logs request URLs (which contain the token) and python-telegram-bot logs its
    URLs at DEBUG and puts the token in some error messages, so every record passing a
    handler this filter sits on is checked.
    """

    REDACTED = "<telegram-token>"
    LOGGERS = ("", "telegram", "httpx", "httpcore", "adapters")

    def __init__(self, token: str) -> None:
        super().__init__()
        secret = token.partition(":")[2]
        self.secrets = [value for value in (token, secret) if len(value) >= 8]

    def redact(self, value: str) -> str:
        """`value` with every occurrence of the token (or its secret half) replaced."""
        for secret in self.secrets:
            value = value.replace(secret, self.REDACTED)
        return value

    def leaks(self, value: str) -> bool:
        """Whether `value` contains the token's secret."""
        return any(secret in value for secret in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drop it.

        A record with arguments is formatted now: python-telegram-bot logs a dict it then
        changes (a file path gains the token), so a lazily formatted message could leak.
        """
        if record.args:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = self.redact(message), ()
        elif self.leaks(str(record.msg)):
            record.msg = self.redact(str(record.msg))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _targets(self) -> Iterator[logging.Filterer]:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            yield logger
            yield from logger.handlers

    def install(self) -> None:
        """Sit on the root logger's handlers and the HTTP loggers; quiet httpx's URL lines."""
        for target in self._targets():
            if self not in target.filters:
                target.addFilter(self)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)

    def uninstall(self) -> None:
        """Take the filter off again."""
        for target in self._targets():
            target.removeFilter(self)


# -- pure helpers ---------------------------------------------------------------------------
def parse_command(body: str, username: str) -> tuple[str, str] | None:
    """`/name@bot rest` -> (name, rest); None when it is not a command or is for another bot."""
    match = _COMMAND.match(body)
    if match is None:
        return None
    name, mention, rest = match.groups()
    if mention and mention.lower() != username.lower():
        return None
    return name, rest.strip()


def utf16_len(value: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(value.encode("utf-16-le")) // 2


def _prefix(value: str, limit: int) -> str:
    """The longest start of `value` within `limit` UTF-16 code units."""
    cut = value[:limit]
    while utf16_len(cut) > limit:
        cut = cut[:-1]
    return cut


def trim(value: str, limit: int) -> str:
    """`value` cut to `limit` UTF-16 code units, with an ellipsis when cut."""
    return value if utf16_len(value) <= limit else _prefix(value, limit - 1) + "…"


def split_text(value: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a long text into messages at line breaks (hard-cutting over-long lines)."""
    chunks: list[str] = []
    current = ""
    for line in value.splitlines(keepends=True):
        while utf16_len(line) > limit:
            head = _prefix(line, limit)
            chunks.extend([current, head] if current else [head])
            current, line = "", line[len(head) :]
        if utf16_len(current + line) > limit:
            chunks.append(current)
            current = ""
        current += line
    chunks.append(current)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()] or [value[:limit] or "…"]


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header; None when `data` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def fits_photo(data: bytes) -> bool:
    """Whether Telegram takes the picture as a photo (10 MB, width + height, aspect)."""
    size = png_size(data)
    if size is None or len(data) > FileSizeLimit.PHOTOSIZE_UPLOAD:
        return False
    width, height = size
    aspect = max(width, height) / max(min(width, height), 1)
    return width + height <= MAX_PHOTO_SIDES and aspect <= MAX_PHOTO_ASPECT


def keyboard(buttons: Sequence[Button], per_row: int = 4) -> InlineKeyboardMarkup | None:
    """An inline keyboard whose callback data is each button's `data`."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(button.label, callback_data=button.data) for button in buttons]
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


def describe(help_text: str) -> str:
    """A command menu description from a `help_<command>` sentence: its first clause."""
    _, colon, rest = help_text.partition(": ")
    first = re.split(r"(?<=[.!?])\s", (rest if colon else help_text).strip(), maxsplit=1)[0]
    first = first.rstrip(".") or help_text
    return trim(first[:1].upper() + first[1:], 256)


def menu(language: str) -> list[BotCommand]:
    """The command menu in one language, from the catalogue's help sentences."""
    table = CATALOGUE.get(language, EN)
    return [
        BotCommand(key.removeprefix("help_"), describe(table.get(key) or EN[key]))
        for key in EN
        if key.startswith("help_") and key.removeprefix("help_") not in HIDDEN_COMMANDS
    ]


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port)."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"listen must be host:port, got {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _has_picture(message: Message | None) -> bool:
    return message is not None and (bool(message.photo) or message.document is not None)


def _user_name(user: User) -> str:
    return user.username or user.full_name


def _reply_parameters(destination: Destination) -> ReplyParameters | None:
    if destination.reply_to is None or not destination.reply_to.isdigit():
        return None
    return ReplyParameters(int(destination.reply_to), allow_sending_without_reply=True)


def _thread(destination: Destination) -> int | None:
    thread = destination.extra.get("thread", "")
    return int(thread) if thread.isdigit() else None


def _keyboard_image(message: Message) -> int | None:
    """The image a result's buttons act on (they carry stored ids, so this survives restarts)."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else ()
    for key in (key for row in rows for key in row):
        parsed = Button.parse(key.callback_data if isinstance(key.callback_data, str) else "")
        if parsed is not None:
            return parsed[1]
    return None


def _extra(message: Message) -> dict[str, str]:
    if message.is_topic_message and message.message_thread_id:
        return {"thread": str(message.message_thread_id)}
    return {}


# -- flood control ----------------------------------------------------------------------------
class EditBudget:
    """A sliding one-minute window of status edits for each group chat."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._times: dict[int, deque[float]] = {}

    def delay(self, chat_id: int, now: float) -> float:
        """Seconds until the chat may have another edit (0 for private chats)."""
        times = self._times.get(chat_id)
        if chat_id >= 0 or times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[chat_id]
            return 0.0
        return 0.0 if len(times) < self.per_minute else times[0] + self.window - now

    def take(self, chat_id: int, now: float) -> None:
        """Count an edit."""
        if chat_id < 0:
            self._times.setdefault(chat_id, deque()).append(now)


@dataclass(slots=True)
class _Status:
    """One status message: what it shows, what it should show, when it was last touched."""

    chat_id: int
    message_id: int
    shown: str
    wanted: str
    touched: float
    task: asyncio.Task[None] | None = None


# -- the adapter ----------------------------------------------------------------------------
class TelegramAdapter:
    """Turns Telegram updates into commands and the bot's answers into Telegram messages."""

    platform = PLATFORM

    def __init__(self, handle: Handle, config: TelegramConfig) -> None:
        self.handle = handle
        self.config = config
        self.redactor = TokenFilter(config.token)
        self.redactor.install()
        self._requests = (HTTPXRequest(connection_pool_size=256), HTTPXRequest())
        self.application = self._build()
        self._results: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._statuses: dict[tuple[int, int], _Status] = {}
        self._budget = EditBudget(config.limits.group_edits_per_minute)
        self._actions: dict[int, float] = {}
        self._albums: dict[str, list[Message]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._initialized = False
        self._stopped = False

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        limits, base = self.config.limits, self.config.base_url.rstrip("/")
        limiter = AIORateLimiter(
            overall_max_rate=limits.messages_per_second,
            group_max_rate=limits.group_messages_per_minute,
            max_retries=limits.retries,
        )
        application = (
            ApplicationBuilder()
            .token(self.config.token)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .concurrent_updates(True)
            .rate_limiter(limiter)
            .job_queue(None)
            .build()
        )
        pictures = filters.TEXT | filters.PHOTO | filters.Document.ALL
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & pictures, self._on_message)
        )
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_error_handler(self._on_error)
        return application

    # -- lifecycle --------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect (long polling, or a webhook when configured) and serve until cancelled."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                await self._ready(required=True)
                await stack.enter_async_context(self.application)
                stack.push_async_callback(self._stop_tasks)
                await self.application.start()
                stack.push_async_callback(self.application.stop)
                await self._start_updates()
                stack.push_async_callback(self._stop_updates)
                await self._set_commands()
                log.info("Telegram: serving as @%s", self.application.bot.username)
                await self._serve()
        finally:
            self._stopped = True
            self.redactor.uninstall()

    async def _serve(self) -> None:
        """Wait until cancelled; raise when long polling gives up on its own.

        python-telegram-bot ends its polling loop, logging the error, when the server
        rejects the token (revoked while running). The bot must not go on silently deaf.
        """
        polling = next((t for t in asyncio.all_tasks() if t.get_name() == POLLING_TASK), None)
        if polling is None:  # webhook mode: the web server keeps serving
            await asyncio.Future()
            return
        await asyncio.wait([polling])
        error = None if polling.cancelled() else polling.exception()
        if isinstance(error, InvalidToken):
            raise InvalidToken("the Bot API server rejected the Telegram token") from None
        raise TelegramError(f"long polling stopped: {error or 'it ended'}")

    async def _start_updates(self) -> None:
        updater = self.application.updater
        assert updater is not None, "the application is built with an updater"
        url = self.config.webhook_url
        if url is None:
            await updater.start_polling(
                timeout=self.config.poll_seconds,
                bootstrap_retries=3,
                allowed_updates=ALLOWED_UPDATES,
                error_callback=self._polling_failed,
            )
            return
        host, port = parse_listen(self.config.listen)
        await updater.start_webhook(
            listen=host,
            port=port,
            url_path=urlsplit(url).path.strip("/"),
            webhook_url=url,
            secret_token=secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=3,
        )

    async def _stop_updates(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            try:
                await updater.stop()
            except TelegramError as error:  # polling had already ended on it (see _serve)
                log.debug("Telegram: the updater stopped after %s", type(error).__name__)

    def _polling_failed(self, error: TelegramError) -> None:
        log.warning("Telegram: polling failed, retrying: %s", error)

    async def _stop_tasks(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _ready(self, *, required: bool = False) -> bool:
        """Make sure the bot can send (answers may come before `run`); False once stopped."""
        if self._stopped:
            log.warning("Telegram: adapter stopped; a message was not sent")
            return False
        async with self._lock:
            if self._initialized:
                return True
            try:
                await self.application.bot.initialize()
            except InvalidToken:
                await self._close_requests()
                # Its message quotes the token; this one must not.
                raise InvalidToken("the Bot API server rejected the Telegram token") from None
            except TelegramError:
                if required:
                    await self._close_requests()
                    raise
                log.warning("Telegram: cannot reach the Bot API; a message was not sent")
                return False
            self._initialized = True
        return True

    async def _close_requests(self) -> None:
        """Close the HTTP clients when start-up fails (PTB only closes what it initialized)."""
        await asyncio.gather(*(request.shutdown() for request in self._requests))

    async def _set_commands(self) -> None:
        for language, code in MENU_LANGUAGES:
            await self._guarded(
                self.application.bot.set_my_commands(menu(language), language_code=code),
                "set the command menu",
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, call: Awaitable[T], what: str) -> T | None:
        """Await a Bot API call; a Telegram or network error is logged, not raised."""
        try:
            return await call
        except TelegramError as error:
            log.warning("Telegram: could not %s: %s", what, error)
            return None

    # -- input --------------------------------------------------------------------------------
    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message: a command, a prompt, a picture, or part of an album."""
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.media_group_id:
            await self._on_album_part(message)
            return
        intent = self._intent(message, "img2img")
        if intent is not None:
            await self._submit([message], message, *intent)

    async def _on_album_part(self, message: Message) -> None:
        """Gather an album's messages until none arrives for a moment, then run it once."""
        key = f"{message.chat.id}:{message.media_group_id}"
        parts = self._albums.setdefault(key, [])
        parts.append(message)
        if len(parts) > 1:
            return
        seen = 0
        while seen < len(parts):
            seen = len(parts)
            await asyncio.sleep(self.config.album_seconds)
        album = sorted(self._albums.pop(key), key=lambda part: part.message_id)
        captioned = next((part for part in album if part.caption), album[0])
        intent = self._intent(captioned, "mix")
        if intent is not None:
            await self._submit(album, captioned, *intent)

    def _intent(self, message: Message, picture_command: str) -> tuple[str, str] | None:
        """The command a message asks for: its own `/command`, else a private-chat prompt."""
        body = message.text or message.caption or ""
        if body.startswith("/"):
            return parse_command(body, self.application.bot.username)
        prompt = body.strip()
        if not prompt or message.chat.type != ChatType.PRIVATE or not self.config.private_prompts:
            return None
        if _has_picture(message) or _has_picture(message.reply_to_message):
            return picture_command, prompt
        return "imagine", prompt

    async def _submit(self, parts: list[Message], message: Message, name: str, rest: str) -> None:
        """Download the pictures (within the cap), build the command and hand it to the bot."""
        command = self._command(message, name, rest)
        try:
            own = [picture for part in parts for picture in await self._pictures(part)]
            replied = await self._pictures(message.reply_to_message)
        except FileRefused as refusal:
            language = normalise_language(command.locale)
            answer = text(language, "bad_input", error=describe_error(refusal, language))
            await self.send_text(command.destination, answer)
            return
        await self.handle(
            dataclasses.replace(command, attachments=tuple(own), reply_attachments=tuple(replied))
        )

    def _command(self, message: Message, name: str, rest: str) -> Command:
        """The command a message makes, before its pictures are downloaded."""
        user = message.from_user
        assert user is not None, "checked by _on_message"
        return Command(
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=_user_name(user),
            chat_id=str(message.chat.id),
            name=name,
            text=rest,
            reply_image_id=self._replied_image(message),
            locale=user.language_code,
            message_id=str(message.message_id),
            extra=_extra(message),
        )

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answer it at once, then run its action on its image."""
        query = update.callback_query
        if query is None:
            return
        await self._guarded(query.answer(), "answer a button press")
        data = query.data if isinstance(query.data, str) else ""
        parsed = Button.parse(data)
        if parsed is None or query.message is None:
            return
        await self.handle(self._button_command(query, str(parsed[0]), parsed[1]))

    def _button_command(self, query: CallbackQuery, action: str, image_id: int) -> Command:
        message = query.message
        assert message is not None, "checked by _on_button"
        return Command(
            platform=PLATFORM,
            user_id=str(query.from_user.id),
            user_name=_user_name(query.from_user),
            chat_id=str(message.chat.id),
            name=action,
            text=str(image_id),
            locale=query.from_user.language_code,
            message_id=str(message.message_id),
            extra=_extra(message) if isinstance(message, Message) else {},
        )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        await self.send_text(destination, text(language, "error"))

    def _replied_image(self, message: Message) -> int | None:
        """The image id of the bot's result this message replies to, if it does."""
        reply = message.reply_to_message
        if reply is None or reply.from_user is None or reply.from_user.id != message.get_bot().id:
            return None
        known = self._results.get((reply.chat.id, reply.message_id))
        if known is None:
            known = _keyboard_image(reply)
        if known is None and _has_picture(reply):
            found = _IMAGE_REF.findall(reply.caption or "")
            known = int(found[-1]) if found else None
        return known

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
        self._check_size(name, size)
        try:
            file = await self.application.bot.get_file(file_id)
        except BadRequest as error:
            if "too big" not in str(error).lower():
                raise
            raise FileRefused.of("file", name, "file_too_big_for_bots", name=name) from None
        self._check_size(name, file.file_size)
        data = bytes(await file.download_as_bytearray())
        self._check_size(name, len(data))
        return Attachment(data, name, content_type)

    def _check_size(self, name: str, size: int | None) -> None:
        limit = self.config.max_download
        if size is not None and size > limit:
            raise FileRefused.of(
                "file",
                name,
                "file_over_download_limit",
                name=name,
                size=size / 2**20,
                limit=limit / 2**20,
            )

    # -- replier: text --------------------------------------------------------------------------
    async def send_text(self, destination: Destination, text: str) -> None:
        """Send a message, split at Telegram's 4096-character limit."""
        if not await self._ready():
            return
        reply = _reply_parameters(destination)
        for chunk in split_text(text):
            await self._guarded(
                self.application.bot.send_message(
                    int(destination.chat_id),
                    chunk,
                    reply_parameters=reply,
                    message_thread_id=_thread(destination),
                ),
                "send a message",
            )
            reply = None

    # -- replier: progress -------------------------------------------------------------------
    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the status message once; later edits are throttled and coalesced."""
        chat_id = int(destination.chat_id)
        message_id = (ref or {}).get("message_id")
        if not isinstance(message_id, int):
            return await self._create_status(destination, chat_id, text)
        status = self._statuses.get((chat_id, message_id))
        if status is None:
            status = _Status(chat_id, message_id, shown="", wanted="", touched=0.0)
            self._statuses[(chat_id, message_id)] = status
        status.wanted = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        self._show_activity(chat_id)
        if status.task is None and not self._stopped:
            status.task = self._spawn(self._flush(status))
        return ref or {}

    async def _create_status(
        self, destination: Destination, chat_id: int, text: str
    ) -> ProgressRef:
        if not await self._ready():
            return {}
        shown = trim(text, MessageLimit.MAX_TEXT_LENGTH)
        message = await self._guarded(
            self.application.bot.send_message(
                chat_id,
                shown,
                reply_parameters=_reply_parameters(destination),
                message_thread_id=_thread(destination),
            ),
            "send a status message",
        )
        if message is None:
            return {}
        self._prune_statuses()
        key = (chat_id, message.message_id)
        self._statuses[key] = _Status(chat_id, message.message_id, shown, shown, time.monotonic())
        return {"chat_id": chat_id, "message_id": message.message_id}

    async def _flush(self, status: _Status) -> None:
        """Edit the status message to its latest text, as soon as the limits allow."""
        try:
            while status.wanted != status.shown and await self._ready():
                now = time.monotonic()
                interval = self._edit_interval(status.chat_id)
                wait = max(status.touched + interval - now, self._budget.delay(status.chat_id, now))
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                wanted = status.wanted
                self._budget.take(status.chat_id, now)
                status.touched = now
                await self._guarded(
                    self.application.bot.edit_message_text(
                        wanted, chat_id=status.chat_id, message_id=status.message_id
                    ),
                    "edit a status message",
                )
                status.shown = wanted
        finally:
            status.task = None

    def _edit_interval(self, chat_id: int) -> float:
        limits = self.config.limits
        return limits.group_edit_seconds if chat_id < 0 else limits.private_edit_seconds

    def _show_activity(self, chat_id: int) -> None:
        """Show "sending a photo…" while a job works, now and then."""
        limits, now = self.config.limits, time.monotonic()
        every = limits.group_action_seconds if chat_id < 0 else limits.private_action_seconds
        if (
            self._stopped
            or not self._initialized
            or now - self._actions.get(chat_id, -every) < every
        ):
            return
        self._actions[chat_id] = now
        self._spawn(
            self._guarded(
                self.application.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO),
                "show the chat action",
            )
        )

    def _prune_statuses(self, keep: int = 512) -> None:
        if len(self._statuses) <= keep:
            return
        old = time.monotonic() - 60
        for key, status in list(self._statuses.items()):
            if status.task is None and status.touched < old:
                del self._statuses[key]

    # -- replier: results ----------------------------------------------------------------------
    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
    ) -> None:
        """Send results as photos (files when too large) with the caption and a keyboard."""
        if not images or not await self._ready():
            return
        caption = trim(caption, MessageLimit.CAPTION_LENGTH)
        as_files = not all(fits_photo(image.data) for image in images)
        markup = keyboard(buttons)
        if len(images) == 1:
            sent = await self._send_one(destination, images[0], caption, markup, as_files)
            self._remember(int(destination.chat_id), sent, images)
            return
        album = await self._send_album(destination, images, caption, as_files)
        self._remember(int(destination.chat_id), album, images)
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
        keys = await self._guarded(
            self.application.bot.send_message(
                int(destination.chat_id),
                " · ".join(f"#{image.image_id}" for image in images),
                reply_markup=markup,
                reply_parameters=ReplyParameters(album.message_id),
                message_thread_id=_thread(destination),
            ),
            "send the result buttons",
        )
        self._remember(int(destination.chat_id), keys, images[:1])

    async def _send_one(
        self,
        destination: Destination,
        image: OutImage,
        caption: str,
        markup: InlineKeyboardMarkup | None,
        as_file: bool,
    ) -> Message | None:
        bot, chat_id = self.application.bot, int(destination.chat_id)
        common: dict[str, Any] = {
            "caption": caption,
            "reply_markup": markup,
            "reply_parameters": _reply_parameters(destination),
            "message_thread_id": _thread(destination),
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
        return await self._guarded(
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
        sent = await self._guarded(
            self.application.bot.send_media_group(
                int(destination.chat_id),
                media,
                reply_parameters=_reply_parameters(destination),
                message_thread_id=_thread(destination),
            ),
            "send results",
        )
        return sent or ()

    def _remember(
        self, chat_id: int, sent: Message | Sequence[Message] | None, images: list[OutImage]
    ) -> None:
        """Note which image each sent message shows, so replies to it name the image."""
        messages = [sent] if isinstance(sent, Message) else list(sent or ())
        for message, image in zip(messages, images, strict=False):
            self._results[(chat_id, message.message_id)] = image.image_id
        while len(self._results) > REMEMBERED_RESULTS:
            self._results.popitem(last=False)
