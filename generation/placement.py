"""Where an image stood in the pipeline call that made it, as its recipe records it.

A pipeline call makes several images at once (`-n 2`, or compatible jobs batched together),
and a batched call does not compute each image to the last bit as a call of one image would:
the arithmetic follows the shape of the batch. So the recipe of an image made in a call of
more than one image keeps that shape under `batch`, and making the image again re-runs a call
of the same shape and keeps that one image (`GenerationService.regenerate`).

This module is pure: it imports only `generation.request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generation.request import RequestError

__all__ = ["MAX_CALL_IMAGES", "RECIPE_KEY", "Placement"]

RECIPE_KEY = "batch"
MAX_CALL_IMAGES = 256  # more than any call makes; a recipe asking for more is damaged


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
