"""Engine control of this process's own generation service (the embedded queue, a worker).

Loading and dropping run off the event loop; what is loaded is read at once, even while a
checkpoint is loading.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.control.port import Holding, Outcome, Report, process_name

if TYPE_CHECKING:
    from generation.engine.service import GenerationService

log = logging.getLogger(__name__)


def failure(error: BaseException) -> str:
    """An error in a few words for an admin answer."""
    return f"{type(error).__name__}: {error}"[:200]


class InProcessControl:
    """The `EngineControl` of one generation service, named as a process."""

    def __init__(
        self,
        service: GenerationService,
        families: Sequence[str],
        name: str | None = None,
    ) -> None:
        self.service = service
        self.families = tuple(families)
        self.device = ",".join(str(cache.device) for cache in service.caches)
        self.name = name or process_name(self.device)

    def loaded(self) -> list[str]:
        """Loaded pipelines on every device, sorted."""
        return sorted({name for cache in self.service.caches for name in cache.loaded()})

    def holding(self) -> Holding:
        """What this process serves and holds now."""
        return Holding(
            self.name,
            self.device,
            tuple(self.families),
            tuple(self.loaded()),
        )

    async def holdings(self) -> list[Holding]:
        """This process alone."""
        return [self.holding()]

    async def preload(self, family: str) -> Report:
        """Load `family`'s text-to-image pipelines on every device."""
        try:
            await asyncio.to_thread(self.service.preload, family)
        except Exception as error:
            log.exception("could not preload Kandinsky %s", family)
            return Report.of(
                [Outcome(self.name, False, tuple(self.loaded()), error=failure(error))]
            )
        return Report.of([Outcome(self.name, True, tuple(self.loaded()))])

    async def unload(self, family: str | None) -> Report:
        """Drop `family`'s pipelines (all, when None) on every device."""

        def drop() -> int:
            return sum(cache.unload(family) for cache in self.service.caches)

        try:
            dropped = await asyncio.to_thread(drop)
        except Exception as error:
            log.exception("could not unload %s", family or "every family")
            return Report.of(
                [Outcome(self.name, False, tuple(self.loaded()), error=failure(error))]
            )
        return Report.of([Outcome(self.name, True, tuple(self.loaded()), dropped=dropped)])
