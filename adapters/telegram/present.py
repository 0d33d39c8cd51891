"""How the bot's answers look on Telegram: lengths in UTF-16, split texts, photos or files,
inline keyboards, questions that open the reply field, and the command menu in each language.

Pure helpers over python-telegram-bot's types; no network.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence

from telegram import (
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import FileSizeLimit, MessageLimit

from bot.chat.command import Button, Destination
from bot.chat.menu import CommandInfo
from bot.i18n.catalogue import CATALOGUE, EN

MENU_LANGUAGES = (("en", None), ("ru", "ru"), ("ar", "ar"))
"""The menu's languages: catalogue language and Telegram's `language_code` (None: default)."""
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_ASPECT = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def keyboard(buttons: Sequence[Button], per_row: int = 5) -> InlineKeyboardMarkup | None:
    """An inline keyboard whose callback data is each button's `data`: a row for each image
    the buttons act on (split after `per_row` buttons)."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    previous: int | None = None
    for button in buttons:
        key = InlineKeyboardButton(button.label, callback_data=button.data)
        if button.image_id == previous and len(rows[-1]) < per_row:
            rows[-1].append(key)
        else:
            rows.append([key])
        previous = button.image_id
    return InlineKeyboardMarkup(rows)


def describe(help_text: str) -> str:
    """A command menu description from a `help_<command>` sentence: its first clause."""
    _, colon, rest = help_text.partition(": ")
    first = re.split(r"(?<=[.!?])\s", (rest if colon else help_text).strip(), maxsplit=1)[0]
    first = first.rstrip(".") or help_text
    return trim(first[:1].upper() + first[1:], 256)


def menu(language: str, commands: Sequence[CommandInfo]) -> list[BotCommand]:
    """The command menu in one language: every command but the admins', with its help."""
    table = CATALOGUE.get(language, EN)
    return [
        BotCommand(info.name, describe(table.get(info.help_key) or EN[info.help_key]))
        for info in commands
        if not info.admin_only
    ]


def reply_parameters(destination: Destination) -> ReplyParameters | None:
    """Answer as a reply to the command's message, when there is one."""
    if destination.reply_to is None or not destination.reply_to.isdigit():
        return None
    return ReplyParameters(int(destination.reply_to), allow_sending_without_reply=True)


def thread(destination: Destination) -> int | None:
    """The forum topic to answer in, if the command came from one."""
    value = destination.extra.get("thread", "")
    return int(value) if value.isdigit() else None


def force_reply(destination: Destination) -> ForceReply | None:
    """A question answered by replying to it opens the reply field at once."""
    return ForceReply() if destination.asks else None
