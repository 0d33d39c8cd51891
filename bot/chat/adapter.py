"""What a chat adapter is to the bot: a replier that also runs its own connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.chat.command import Command
from bot.chat.replier import Replier

Handle = Callable[[Command], Awaitable[None]]
"""The bot's entry point: adapters call it with each command they build."""


class Adapter(Replier, Protocol):
    """A chat platform connection."""

    platform: str

    async def run(self) -> None:
        """Connect and serve until cancelled; disconnect cleanly on the way out."""
