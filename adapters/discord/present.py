"""How the bot's answers look on Discord: texts, result embeds, pictures and buttons.

Texts are clipped to Discord's length; a result is an embed with the caption, the pictures
(a PNG over the interaction's upload limit is re-encoded as JPEG at falling quality, or
left out with a notice naming its id) and persistent buttons. A video is an `.mp4`
attachment, which Discord plays inline (the embed shows no picture then); over the limit it
is written again at lower bitrates (`generation.video.shrink`), or left out with a notice.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.client import view
from bot.chat.command import Button, OutImage
from bot.chat.present import too_large
from generation.media import is_video

MESSAGE_LIMIT = 2000
JPEG_QUALITIES = (90, 80, 70, 60, 50)


def clip(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """`message` cut to Discord's message length, with an ellipsis when cut."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: text, an optional embed, pictures and buttons."""

    content: str
    embed: discord.Embed | None = None
    pictures: tuple[tuple[str, bytes], ...] = ()
    buttons: tuple[Button, ...] = ()

    def parts(self, *, editing: bool = False) -> dict[str, Any]:
        """Keyword arguments for send or edit, with fresh files and view each time."""
        parts: dict[str, Any] = {}
        content = clip(self.content)
        if content or editing:
            parts["content"] = content or None
        if self.embed is not None or editing:
            parts["embed"] = self.embed
        files = [discord.File(io.BytesIO(data), filename=name) for name, data in self.pictures]
        if files or editing:
            parts["attachments" if editing else "files"] = files
        buttons = view(self.buttons)
        if buttons is not None or editing:
            parts["view"] = buttons
        return parts


def result(
    caption: str, pictures: list[tuple[str, bytes]], notices: list[str], buttons: Sequence[Button]
) -> Outgoing:
    """A result: the notices as text, an embed with the caption showing the first picture
    (unless it goes behind a spoiler: an embed would show it plainly)."""
    embed = discord.Embed(description=caption, colour=discord.Colour.blurple())
    if pictures and not pictures[0][0].startswith(SPOILER) and not is_video(pictures[0][1]):
        embed.set_image(url=f"attachment://{pictures[0][0]}")
    return Outgoing("\n".join(notices), embed, tuple(pictures), tuple(buttons))


SPOILER = "SPOILER_"
"""How an attachment's name begins when Discord is to show it behind a spoiler."""


def fit(image: OutImage, limit: int) -> tuple[str, bytes] | None:
    """The picture as it can be uploaded under `limit` bytes: as is, or as a JPEG (a video:
    at a lower bitrate); else None (named for a spoiler when `image.spoiler`)."""
    prefix = SPOILER if image.spoiler else ""
    if len(image.data) <= limit:
        return prefix + image.filename, image.data
    if is_video(image.data):
        from generation.video import shrink

        smaller = shrink(image.data, limit)
        return None if smaller is None else (prefix + image.filename, smaller)
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as picture:
        rgb = picture.convert("RGB")
    stem = image.filename.rsplit(".", 1)[0]
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        rgb.save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= limit:
            return f"{prefix}{stem}.jpg", buffer.getvalue()
    return None


def fit_all(
    images: Sequence[OutImage], limit: int, language: str | None = None
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Pictures that fit the upload limit, and a notice (in `language`) for each that does not."""
    fitted: list[tuple[str, bytes]] = []
    notices: list[str] = []
    for image in images:
        picture = fit(image, limit)
        if picture is None:
            notices.append(too_large(image, limit, language))
        else:
            fitted.append(picture)
    return fitted, notices
