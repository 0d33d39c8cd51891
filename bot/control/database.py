"""Engine control through the queue's database: every worker of a procrastinate deployment.

Workers (`WorkerPresence`) keep their row in `workers` fresh every few seconds, look for new
`worker_requests` every second, carry each out once on their own service and write their
`Outcome` in `worker_replies`. A frontend (`DatabaseControl`) lists the workers seen
recently, posts a request and waits, a bounded time, for the replies of the live workers
that serve the family; those that stay silent are named in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from bot.control.inprocess import InProcessControl
from bot.control.port import Holding, Outcome, Report
from storage.workers import WorkerDirectory, WorkerRecord, WorkerRequestRecord

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
"""How often a worker refreshes its row."""
LIVE_SECONDS = 15.0
"""A worker whose row is older than this is taken as gone (killed, machine lost)."""
POLL_SECONDS = 1.0
"""How often a worker looks for new requests."""
PRELOAD_WAIT = 30.0
UNLOAD_WAIT = 10.0
"""How long a frontend waits for the workers' replies."""
KEEP = timedelta(hours=1)
"""Requests, and rows of workers gone, older than this are deleted."""


def serves(families: tuple[str, ...], family: str | None) -> bool:
    """Whether a worker serving `families` is concerned by a request about `family`."""
    return family is None or family in families


class DatabaseControl:
    """The `EngineControl` of a frontend: every live worker, through the database."""

    def __init__(
        self,
        directory: WorkerDirectory,
        *,
        preload_wait: float = PRELOAD_WAIT,
        unload_wait: float = UNLOAD_WAIT,
        poll: float = 0.25,
        live: float = LIVE_SECONDS,
    ) -> None:
        self.directory = directory
        self.preload_wait = preload_wait
        self.unload_wait = unload_wait
        self.poll = poll
        self.live = timedelta(seconds=live)

    async def _live(self) -> list[WorkerRecord]:
        return await self.directory.live(self.live)

    async def holdings(self) -> list[Holding]:
        """What each worker seen recently serves and holds."""
        return [
            Holding(row.name, row.device, row.families, row.loaded) for row in await self._live()
        ]

    async def preload(self, family: str) -> Report:
        """Ask the workers serving `family` to load it; wait up to `preload_wait` seconds."""
        return await self._ask("preload", family, self.preload_wait)

    async def unload(self, family: str | None) -> Report:
        """Ask the workers (serving `family`) to drop pipelines; wait up to `unload_wait`."""
        return await self._ask("unload", family, self.unload_wait)

    async def _ask(self, action: str, family: str | None, wait: float) -> Report:
        asked = [row.name for row in await self._live() if serves(row.families, family)]
        if not asked:
            return Report()
        await self.directory.prune(KEEP)
        request = await self.directory.ask(action, family)
        deadline = time.monotonic() + wait
        while True:
            replies = await self.directory.replies(request.id, asked)
            if len(replies) == len(asked) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.poll)
        answered = {reply.worker for reply in replies}
        return Report.of(
            [Outcome.from_json(reply.worker, reply.result) for reply in replies],
            [name for name in asked if name not in answered],
        )


class WorkerPresence:
    """A worker's side: its row kept fresh, and every new request carried out once."""

    def __init__(
        self,
        directory: WorkerDirectory,
        control: InProcessControl,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.directory = directory
        self.control = control
        self.heartbeat = heartbeat
        self.poll = poll
        self._after = 0
        self._handled: set[int] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Register, serve requests and beat while inside; drop the row on the way out."""
        # Read before registering: a frontend that sees this worker asks with a newer id.
        self._after = await self.directory.last_request_id()
        await self.register()
        await self.directory.prune(KEEP)
        tasks = [
            asyncio.create_task(self._every(self.heartbeat, self.register), name="kbot-beat"),
            asyncio.create_task(self._every(self.poll, self.serve_requests), name="kbot-admin"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await self.directory.drop(self.control.name)
            except Exception as error:
                log.warning(
                    "could not remove worker %s from the list: %s", self.control.name, error
                )

    async def register(self) -> None:
        """Write what this worker serves and holds now."""
        holding = self.control.holding()
        await self.directory.register(
            holding.worker, holding.device, holding.families, holding.loaded
        )

    async def serve_requests(self) -> None:
        """Carry out each request not seen yet (those about other families are skipped)."""
        for request in await self.directory.requests_after(self._after):
            if request.id in self._handled:
                continue
            self._handled.add(request.id)
            family = request.family if request.family else None
            if not serves(self.control.holding().families, family):
                continue
            outcome = await self._carry_out(request, family)
            await self.directory.reply(request.id, self.control.name, outcome.to_json())
            await self.register()

    async def _carry_out(self, request: WorkerRequestRecord, family: str | None) -> Outcome:
        log.info("admin request #%s: %s %s", request.id, request.action, family or "all")
        if request.action == "preload" and family is not None:
            report = await self.control.preload(family)
        elif request.action == "unload":
            report = await self.control.unload(family)
        else:
            return Outcome(self.control.name, False, error=f"unknown request {request.action}")
        return report.outcomes[0]

    async def _every(self, seconds: float, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except Exception as error:
                log.warning("worker %s: %s", self.control.name, error)
