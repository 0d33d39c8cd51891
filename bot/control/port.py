"""The engine-control port: what admin commands may ask of the processes that generate.

Every process that holds pipelines answers for itself: `Holding` is what one holds,
`Outcome` what one did with a preload or unload; `Report` gathers the outcomes and names
the processes that were asked but did not answer in time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


def process_name(device: str) -> str:
    """`host:pid:device`: how a process that generates is named in logs, the database and
    admin answers."""
    return f"{socket.gethostname()}:{os.getpid()}:{device}"


@dataclass(frozen=True, slots=True)
class Holding:
    """What one process holds: the families it serves and the pipelines it has loaded."""

    worker: str
    device: str
    families: tuple[str, ...]
    loaded: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One process's answer to a preload or unload."""

    worker: str
    ok: bool
    loaded: tuple[str, ...] = ()  # what it holds afterwards
    dropped: int = 0  # pipelines an unload freed
    error: str = ""  # why it failed, in a few words

    def to_json(self) -> dict[str, Any]:
        """The reply a worker stores."""
        return {
            "ok": self.ok,
            "loaded": list(self.loaded),
            "dropped": self.dropped,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, worker: str, data: dict[str, Any]) -> Outcome:
        """Read a stored reply back."""
        return cls(
            worker=worker,
            ok=bool(data.get("ok")),
            loaded=tuple(str(name) for name in data.get("loaded", ())),
            dropped=int(data.get("dropped", 0)),
            error=str(data.get("error", "")),
        )


@dataclass(frozen=True, slots=True)
class Report:
    """The outcomes of one preload or unload, and who was asked but stayed silent."""

    outcomes: tuple[Outcome, ...] = ()
    silent: tuple[str, ...] = ()

    @classmethod
    def of(cls, outcomes: Sequence[Outcome], silent: Sequence[str] = ()) -> Report:
        """A report from any sequences."""
        return cls(tuple(outcomes), tuple(silent))


class EngineControl(Protocol):
    """What admin commands may do to the processes that hold pipelines."""

    async def holdings(self) -> list[Holding]:
        """What each live process holds, by name."""
        ...

    async def preload(self, family: str) -> Report:
        """Have every process serving `family` load its text-to-image pipelines."""
        ...

    async def unload(self, family: str | None) -> Report:
        """Have every process (serving `family`, when given) drop its pipelines."""
        ...
