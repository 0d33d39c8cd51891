"""What kind of result a file is: a PNG picture or an MP4 video, told by its first bytes.

Pure: the standard library only, so storage and the chat side can name and send results
without PIL or PyAV.
"""

from __future__ import annotations

VIDEO_TYPE = "video/mp4"
PICTURE_TYPE = "image/png"
VIDEO_SUFFIX = ".mp4"


def is_video(data: bytes) -> bool:
    """Whether `data` is an MP4 (an ISO media file: `ftyp` at byte 4)."""
    return data[4:8] == b"ftyp"


def suffix(data: bytes) -> str:
    """The file name suffix of one of the bot's results: `.mp4` or `.png`."""
    return VIDEO_SUFFIX if is_video(data) else ".png"


def content_type(data: bytes) -> str:
    """The MIME type of one of the bot's results."""
    return VIDEO_TYPE if is_video(data) else PICTURE_TYPE
