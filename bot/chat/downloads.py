"""What an adapter checks before it downloads a user's file: its type and its size.

Each check raises a catalogued `RequestError`; the adapter puts it into the command
(`Command.refusal`) so that the bot words it in the user's language.
"""

from __future__ import annotations

from generation.request import RequestError

PICTURE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
"""The content types the bot reads as pictures."""

MB = 2**20


def check_download(name: str, size: int | None, limit: int) -> None:
    """Refuse a file of `size` bytes (None: not known yet) over the download `limit`."""
    if size is not None and size > limit:
        raise RequestError.of(
            "file", name, "file_over_download_limit", name=name, size=size / MB, limit=limit / MB
        )


def check_picture_type(name: str, content_type: str) -> None:
    """Refuse a file whose declared content type is not a picture the bot reads."""
    if content_type in PICTURE_TYPES:
        return
    if not content_type:
        raise RequestError.of("image", name, "file_unknown_type", name=name)
    raise RequestError.of("image", name, "file_wrong_type", name=name, kind=content_type)
