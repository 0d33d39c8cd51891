"""Videos as the bot writes and reads them: H.264 MP4 with the recipe in its comment tag.

PyAV (`av`) writes and reads them: its wheels carry FFmpeg with libx264, so nothing else is
installed. A video is yuv420p (what every player takes), with its index at the front
(`+faststart`: it plays while it downloads) and a bitrate from its size and frame rate, which
`shrink` lowers to fit an upload limit. The recipe is JSON in the container's `comment` tag.

Imports PIL and av only where a function needs them (which kind a result is, `generation.media`,
needs neither).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generation.request import RequestError

if TYPE_CHECKING:
    from PIL import Image

RECIPE_TAG = "comment"
BITS_PER_PIXEL = 0.15
"""The bitrate a video is written at, in bits per pixel of each frame."""
SHRINK_TRIES = 6
SHRINK_FACTOR = 0.5
MIN_BITRATE = 1_000
"""Bits a second below which a video is not worth sending."""
THUMBNAIL_SIDE = 320


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a player is told of a video: size, length (whole seconds, rounded up), frame rate
    and frame count."""

    width: int
    height: int
    duration: int
    fps: float
    frames: int


def _bitrate(width: int, height: int, fps: float) -> int:
    return max(int(width * height * fps * BITS_PER_PIXEL), 20 * MIN_BITRATE)


X264_OPTIONS = {"x264-params": "mbtree=0"}
"""x264's macroblock tree made two encodings of the same small frames differ (seen at 64x64
with the wheel's libx264); without it the same frames always give the same bytes, at a cost
in quality too small to see at the bitrates used here."""


def encode_mp4(
    frames: Sequence[Image.Image], fps: int, recipe: Mapping[str, Any], bitrate: int | None = None
) -> bytes:
    """Encode `frames` (all one size) as H.264 MP4 at `fps`, with `recipe` in its comment."""
    width, height = frames[0].size
    # Moving the index to the front reopens the file: FFmpeg writes to a real one.
    with tempfile.TemporaryDirectory(prefix="kbot-video-") as folder:
        path = Path(folder) / "video.mp4"
        _write(path, frames, fps, recipe, bitrate or _bitrate(width, height, fps))
        return path.read_bytes()


def _write(
    path: Path, frames: Sequence[Image.Image], fps: int, recipe: Mapping[str, Any], bitrate: int
) -> None:
    import av
    import numpy as np

    width, height = frames[0].size
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        container.metadata[RECIPE_TAG] = json.dumps(dict(recipe), sort_keys=True)
        stream = container.add_stream("libx264", rate=Fraction(fps), options=X264_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bitrate
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(np.asarray(frame.convert("RGB")), format="rgb24")
            container.mux(stream.encode(picture))
        container.mux(stream.encode())


def _tags(data: bytes) -> dict[str, str]:
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            return dict(container.metadata)
    except (av.FFmpegError, ValueError):
        raise RequestError.of("file", None, "file_not_png") from None


def read_recipe(data: bytes) -> dict[str, Any]:
    """The recipe in one of the bot's MP4s; RequestError when there is none."""
    text = _tags(data).get(RECIPE_TAG)
    try:
        recipe = json.loads(text) if text is not None else None
    except ValueError:
        recipe = None
    if not isinstance(recipe, dict):
        raise RequestError.of("file", None, "no_recipe")
    return recipe


def decode_frames(data: bytes) -> tuple[list[Any], float]:
    """The frames of an MP4 as RGB arrays (height x width x 3), and its frame rate."""
    import av

    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.base_rate or 1)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return frames, fps


def probe(data: bytes) -> VideoInfo:
    """Size, length, frame rate and frame count of an MP4."""
    import av

    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.base_rate or 1)
        frames = stream.frames or sum(1 for _ in container.decode(stream))
        width, height = stream.codec_context.width, stream.codec_context.height
    return VideoInfo(width, height, max(math.ceil(frames / fps), 1), fps, frames)


def thumbnail(data: bytes) -> bytes:
    """The first frame as a JPEG of at most `THUMBNAIL_SIDE` pixels a side."""
    import av

    with av.open(io.BytesIO(data), "r") as container:
        first = next(container.decode(video=0)).to_image()
    first.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    first.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def shrink(data: bytes, limit: int) -> bytes | None:
    """The video written again at lower bitrates until it is at most `limit` bytes (its recipe
    kept); None when even the lowest does not fit."""
    if len(data) <= limit:
        return data
    from PIL import Image

    recipe = _tags(data).get(RECIPE_TAG)
    arrays, fps = decode_frames(data)
    frames = [Image.fromarray(array) for array in arrays]
    seconds = len(frames) / fps
    bitrate = int(limit * 8 * 0.9 / seconds)
    for _ in range(SHRINK_TRIES):
        if bitrate < MIN_BITRATE:
            return None
        smaller = encode_mp4(frames, round(fps), json.loads(recipe or "{}"), bitrate)
        if len(smaller) <= limit:
            return smaller
        bitrate = int(bitrate * SHRINK_FACTOR)
    return None
