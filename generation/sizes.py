"""Sizes as people give them: `768x512`, or an aspect ratio a family's size rule turns into a
size. Pure, like the request model it belongs to.
"""

from __future__ import annotations

from generation.families import MultipleOf, SizeRule
from generation.request import Limits, RequestError


def parse_size(text: str) -> tuple[int, int]:
    """Parse `768x512` into (width, height); RequestError when malformed."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise RequestError.of("size", text, "size_format", name="size", value=repr(text))
    return int(parts[0]), int(parts[1])


def size_for_aspect(
    width: int, height: int, area: int, limits: Limits | None = None, *, rule: SizeRule
) -> tuple[int, int]:
    """Return the size the family's size `rule` makes nearest to `width:height`.

    With `MultipleOf`, a size of about `area` pixels whose sides are multiples of the rule's
    within `limits`; with `SizeList`, the listed size of the nearest aspect (whatever `area`).
    """
    limits = limits or Limits()
    if width <= 0 or height <= 0:
        raise RequestError.of("size", f"{width}x{height}", "size_positive")
    if isinstance(rule, MultipleOf):
        bounds = (limits.min_side, limits.max_side, limits.max_pixels)
        return rule.nearest(width, height, area, *bounds)
    return rule.nearest(width, height)
