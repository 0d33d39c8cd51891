"""The generation service, built on its own thread while the adapters already serve.

Importing torch and diffusers and setting up the devices takes seconds; a process that
generates for itself (the embedded queue) starts answering commands at once and runs its
first job when the engine is ready. Building starts when the first job or admin engine
command needs it, or when the process calls `start` (`kandinsky-bot run` does, a moment
after its adapters connect, so the imports do not slow their start).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.control.port import Holding, Report

if TYPE_CHECKING:
    from bot.control.inprocess import InProcessControl
    from bot.jobs.port import GeneratedBatch
    from generation.engine.service import GenerationService
    from generation.request import GenerationRequest

log = logging.getLogger(__name__)


class WarmingEngine:
    """A `Generator` and an `EngineControl` over a service that is still being built."""

    def __init__(self, build: Callable[[], GenerationService], families: Sequence[str]) -> None:
        self._families = tuple(families)
        self._build_service = build
        self._built: concurrent.futures.Future[GenerationService] = concurrent.futures.Future()
        self._control: InProcessControl | None = None
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        """Begin building the service on its own thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(
            target=self._build, args=(self._build_service,), name="kbot-engine", daemon=True
        ).start()

    def _build(self, build: Callable[[], GenerationService]) -> None:
        try:
            self._built.set_result(build())
        except BaseException as error:  # told to whoever waits for the engine
            log.exception("the generation engine could not start")
            self._built.set_exception(error)

    async def service(self) -> GenerationService:
        """The service, once built (raises what building it raised)."""
        self.start()
        return await asyncio.wrap_future(self._built)

    async def control(self) -> InProcessControl:
        """Engine control of the service, once built."""
        if self._control is None:
            from bot.control.inprocess import InProcessControl

            self._control = InProcessControl(await self.service(), self._families)
        return self._control

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Sequence[GeneratedBatch]:
        """Make images once the service is ready."""
        service = await self.service()
        return await service.generate_batch(requests, progress, cancel)

    async def holdings(self) -> list[Holding]:
        """What this process holds (after the engine is ready)."""
        return await (await self.control()).holdings()

    async def preload(self, family: str) -> Report:
        """Load a family's pipelines."""
        return await (await self.control()).preload(family)

    async def unload(self, family: str | None) -> Report:
        """Drop pipelines."""
        return await (await self.control()).unload(family)

    def device(self) -> str | None:
        """The device jobs run on (the service's first) once the service is built, else None."""
        if not self._built.done() or self._built.exception() is not None:
            return None
        return self._built.result().caches[0].label

    def close(self) -> None:
        """Stop the service's threads (waits for a build in progress to finish first)."""
        if not self._started:
            return
        try:
            service = self._built.result()
        except Exception:
            return
        service.close()
