"""Presentation every platform shares: how a job's steps look as a bar."""

from __future__ import annotations

BAR_WIDTH = 10


def step_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A bar like `▰▰▰▱▱`: `done` of `total` steps in `width` cells."""
    filled = width * done // max(total, 1)
    return "▰" * filled + "▱" * (width - filled)
