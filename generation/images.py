"""Images in and out: safe decoding, masks, the resize policy, and PNG recipes.

Resize policy for pictures users send (init images, masks, depth maps): the picture is
scaled to *cover* the requested size, keeping its aspect ratio, then centre-cropped to
exactly width x height. Nothing is stretched; the edges of a picture whose aspect differs
from the request are cut off evenly. When a user gives no size, callers pick one from the
picture's aspect with `generation.sizes.size_for_aspect`, so nothing is cut (or, for a
family that makes only listed sizes, little: the listed size of the nearest aspect).
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageOps, PngImagePlugin

from generation import media, video
from generation.request import RequestError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
PICTURE_KINDS: dict[str, str] = {"init_image": "picture", "mask": "mask", "depth_hint": "depth_map"}
"""Request field -> the word its error ids begin with (`picture_empty`, `mask_empty`, ...)."""
RECIPE_KEY = "kandinsky-bot"
RECIPE_FIELDS = (
    "prompt",
    "negative_prompt",
    "model",
    "task",
    "seed",
    "width",
    "height",
    "steps",
    "guidance_scale",
    "strength",
    "scheduler",
    "version",
)


def _open(data: bytes, field: str, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open and fully load `data` as one of the allowed formats, within the caps."""
    kind = _kind(field)
    if not data:
        raise RequestError.of(field, 0, f"{kind}_empty")
    if len(data) > max_bytes:
        raise RequestError.of(
            field,
            len(data),
            f"{kind}_too_heavy",
            size=len(data) / 2**20,
            limit=max_bytes / 2**20,
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two limits; a bomb is refused, not warned.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big(field, None, max_pixels) from None
    except (OSError, ValueError, SyntaxError):
        raise RequestError.of(field, None, f"{kind}_not_picture") from None
    size = image.size
    if size[0] * size[1] > max_pixels:
        raise _too_big(field, size, max_pixels)
    try:
        image.load()
    except Image.DecompressionBombError:
        raise _too_big(field, size, max_pixels) from None
    except (OSError, ValueError, SyntaxError):
        raise RequestError.of(field, None, f"{kind}_damaged") from None
    return ImageOps.exif_transpose(image)


def _too_big(field: str, size: tuple[int, int] | None, max_pixels: int) -> RequestError:
    limit = max_pixels / 1e6
    if size is None:
        return RequestError.of(field, None, f"{_kind(field)}_too_large", limit=limit)
    width, height = size
    return RequestError.of(
        field,
        f"{width}x{height}",
        f"{_kind(field)}_too_many_pixels",
        width=width,
        height=height,
        limit=limit,
    )


def _kind(field: str) -> str:
    """What the picture in `field` is for, as its error ids begin (`PICTURE_KINDS`)."""
    return PICTURE_KINDS.get(field, "picture")


def decode_image(
    data: bytes,
    *,
    field: str = "init_image",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a picture a user sent into RGB, EXIF orientation applied.

    Raises RequestError (naming `field`) for empty, oversized, damaged or foreign files.
    """
    image = _open(data, field, max_bytes, max_pixels)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def has_transparency(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bool:
    """Return whether the picture has any pixel that is not fully opaque."""
    image = _open(data, "init_image", max_bytes, max_pixels)
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    alpha = image.convert("RGBA").getchannel("A")
    low = alpha.getextrema()[0]
    return isinstance(low, int | float) and low < 255


def decode_mask(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a mask into a black and white "L" image where white means repaint.

    A picture with transparency gives its alpha channel: transparent pixels are repainted.
    Any other picture is read as grey levels and thresholded at half brightness.
    """
    image = _open(data, "mask", max_bytes, max_pixels)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        return alpha.point(lambda a: 255 if a < 128 else 0)
    return image.convert("L").point(lambda v: 255 if v >= 128 else 0)


def fit(image: Image.Image, width: int, height: int, *, nearest: bool = False) -> Image.Image:
    """Apply the resize policy: scale to cover width x height, then centre-crop."""
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return ImageOps.fit(image, (width, height), method=method, centering=(0.5, 0.5))


def encode_png(image: Image.Image, recipe: Mapping[str, Any]) -> bytes:
    """Encode `image` as PNG with the recipe in text chunks (one per field, plus JSON)."""
    info = PngImagePlugin.PngInfo()
    for key in RECIPE_FIELDS:
        if key in recipe and recipe[key] is not None:
            info.add_itxt(key, str(recipe[key]))
    info.add_itxt(RECIPE_KEY, json.dumps(dict(recipe), sort_keys=True, ensure_ascii=False))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_recipe(data: bytes) -> dict[str, Any]:
    """Return the recipe stored in a PNG (or MP4) made by this bot; RequestError when there is
    none."""
    if media.is_video(data):
        return video.read_recipe(data)
    try:
        image = Image.open(io.BytesIO(data), formats=("PNG",))
    except (OSError, ValueError, SyntaxError):
        raise RequestError.of("file", None, "file_not_png") from None
    # The recipe's chunk comes before the pixels in the bot's own PNGs: it is read without
    # decoding them. `text` finds chunks after the pixels too, by decoding them.
    text = image.info.get(RECIPE_KEY)
    if text is None:
        text = getattr(image, "text", {}).get(RECIPE_KEY)
    if text is None:
        raise RequestError.of("file", None, "no_recipe")
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError:
        raise RequestError.of("file", None, "recipe_damaged") from None
    if not isinstance(recipe, dict):
        raise RequestError.of("file", None, "recipe_damaged")
    return recipe
