"""How the bot speaks: the interface each adapter implements."""

from __future__ import annotations

from typing import Any, Protocol

from bot.chat.command import Button, Destination, OutImage

ProgressRef = dict[str, Any]
"""An adapter's handle on a progress message (JSON-safe, stored with the job)."""


class Replier(Protocol):
    """Sends the bot's answers on one platform."""

    async def send_text(self, destination: Destination, text: str) -> None:
        """Send a plain message."""

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the progress message (ref None) or edit it in place; return its ref."""

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
    ) -> None:
        """Send result pictures with a caption and buttons."""
