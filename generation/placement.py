"""Where an image stood in the pipeline call that made it, as its recipe records it.

A pipeline call makes several images at once (`-n 2`, or compatible jobs batched together),
and a batched call does not compute each image to the last bit as a call of one image would:
the arithmetic follows the shape of the batch. So the recipe of an image made in a call of
more than one image keeps that shape under `batch`, and making the image again re-runs a call
of the same shape and keeps that one image (`GenerationService.regenerate`). A request that
asks for this carries the place as its `placement` (`Placement.entry`), so a job can too.

This module is pure: it imports only `generation.request`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generation.request import GenerationRequest, Limits, RequestError

__all__ = ["MAX_CALL_IMAGES", "RECIPE_KEY", "Placement"]

RECIPE_KEY = "batch"
MAX_CALL_IMAGES = 256  # more than any call makes; a recipe asking for more is damaged
_SPOKEN = re.compile(r"([0-9]{1,3})/([0-9]{1,3})(?::([0-9]{1,6}))?")


@dataclass(frozen=True, slots=True)
class Placement:
    """An image's place in its call: `images` in the call, this one's `index` among them.

    `context` is the number of text tokens the decoder attended to, for a family whose
    pipeline cuts the text to the longest prompt of the call (Kandinsky 3); None otherwise.
    """

    images: int = 1
    index: int = 0
    context: int | None = None

    @property
    def alone(self) -> bool:
        """Whether the image was the only one of its call."""
        return self.images <= 1

    def recipe(self) -> dict[str, int]:
        """The recipe's `batch` entry (empty for an image made alone: it has none)."""
        if self.alone:
            return {}
        entry = {"images": self.images, "index": self.index}
        if self.context is not None:
            entry["context"] = self.context
        return entry

    def entry(self) -> tuple[int, ...]:
        """The request's `placement`: () for an image made alone, else (images, index) or
        (images, index, context)."""
        if self.alone:
            return ()
        shape = (self.images, self.index)
        return shape if self.context is None else (*shape, self.context)

    def spoken(self) -> str:
        """The place as people write it: `2/4` (the second of four), `2/4:77` with a context."""
        place = f"{self.index + 1}/{self.images}"
        return place if self.context is None else f"{place}:{self.context}"

    @classmethod
    def parse(cls, text: str) -> Placement | None:
        """Read what `spoken` writes; None when `text` is not such a place."""
        match = _SPOKEN.fullmatch(text.strip())
        if match is None:
            return None
        number, images, context = (int(group) if group else None for group in match.groups())
        assert number is not None and images is not None
        if not 1 <= number <= images <= MAX_CALL_IMAGES or context == 0:
            return None
        return cls(images, number - 1, context)

    @classmethod
    def of_request(cls, request: GenerationRequest, limits: Limits | None = None) -> Placement:
        """Where `request` asks its one image to stand (see `entry`); RequestError for a place
        no call of at most `limits.max_call_images` images has, or a request of several."""
        entry = request.placement
        if not entry:
            return cls()
        limit = (limits or Limits()).max_call_images
        whole = len(entry) in (2, 3) and all(type(number) is int for number in entry)
        images, index = entry[:2] if whole else (0, 0)
        context = entry[2] if whole and len(entry) == 3 else None
        if not whole or not 0 <= index < images <= limit or (context is not None and context < 1):
            shown = "/".join(map(str, entry))
            raise RequestError.of("placement", shown, "batch_range", limit=limit, value=shown)
        if request.num_images != 1:
            raise RequestError.of("num_images", request.num_images, "batch_one_image")
        return cls(images, index, context)

    @classmethod
    def of(cls, recipe: Mapping[str, Any]) -> Placement:
        """Read a recipe's `batch` entry (none: made alone); RequestError when it is damaged."""
        entry = recipe.get(RECIPE_KEY)
        if entry is None:
            return cls()
        if not isinstance(entry, Mapping):
            raise RequestError.of("file", None, "recipe_damaged")
        images, index, context = entry.get("images"), entry.get("index"), entry.get("context")
        numbers = [value for value in (images, index, context) if value is not None]
        if not all(type(value) is int for value in numbers) or images is None or index is None:
            raise RequestError.of("file", None, "recipe_damaged")
        if not 0 <= index < images <= MAX_CALL_IMAGES or (context is not None and context < 1):
            raise RequestError.of("file", None, "recipe_damaged")
        return cls(images, index, context)
