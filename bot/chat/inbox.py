"""Where an adapter keeps what a platform delivered before it acknowledges it.

An adapter that can be sent something again until it acknowledges it (Telegram: the
`getUpdates` offset, a webhook's 200) stores each delivery in the inbox first, acknowledges
only then, and marks the delivery handled once the bot has finished with it (stored its job,
or answered it). What a crash left unhandled is taken over by the next process. The store
implements this interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class Received(Protocol):
    """One stored delivery."""

    @property
    def id(self) -> int:
        """The inbox's id for it."""

    @property
    def key(self) -> str:
        """Its name on its platform (a Telegram update id)."""

    @property
    def payload(self) -> str:
        """What arrived, as JSON text."""

    @property
    def attempts(self) -> int:
        """How many processes took it on, this one included."""


class Inbox(Protocol):
    """What platforms delivered, until it is handled."""

    async def receive(self, platform: str, items: Sequence[tuple[str, str]]) -> Sequence[Received]:
        """Store `(key, payload)` pairs at once; return the new ones, oldest first."""

    async def take_unhandled(self, platform: str) -> Sequence[Received]:
        """Take over what was stored but never handled, oldest first."""

    async def mark_handled(self, entry_id: int, error: str | None = None) -> bool:
        """Note that a delivery was handled (or given up, with `error`)."""

    async def forget_handled(self, platform: str, before: datetime) -> int:
        """Delete deliveries handled before `before`."""
