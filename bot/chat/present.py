"""Presentation every platform shares: how a job's steps look as a bar, and the sentence
naming a result too large to upload (a video even written again smaller)."""

from __future__ import annotations

from bot.chat.command import OutImage
from bot.i18n.catalogue import text
from generation.media import is_video

BAR_WIDTH = 10
MB = 2**20


def step_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A bar like `▰▰▰▱▱`: `done` of `total` steps in `width` cells."""
    filled = width * done // max(total, 1)
    return "▰" * filled + "▱" * (width - filled)


def too_large(image: OutImage, limit: int, language: str | None) -> str:
    """The sentence (in `language`) naming a result that cannot be uploaded under `limit`
    bytes: it stays in /history."""
    key = "video_too_large" if is_video(image.data) else "upload_too_large"
    return text(language, key, id=image.label, limit=limit / MB)
