"""How often a message may be updated: one set of rules for the Notifier and every adapter.

`Throttle` holds the rules and the times: at least `interval` seconds between two updates of
one message (from the end of one to the start of the next, when the caller says when it
ended), at most `per_minute` updates in any minute in one chat (no budget when None),
and the last update is never lost. `Throttle.admit` is for callers that drop what they may
not send now (the Notifier drops intermediate steps; the final step passes with
`last=True`). `Edits` is for callers that must show the newest text once the rules allow
(status messages on a platform): a newer text replaces one still waiting, and the waiting
one always lands; a message's last text (`Edits.finish`) is shown by its caller, who hears
whether it went.

Pure: the standard library only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Throttle:
    """The times of recent updates, and when the next one may go out."""

    def __init__(
        self,
        interval: float,
        per_minute: int | None = None,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self._last: dict[Hashable, float] = {}
        self._chats: dict[Hashable, deque[float]] = {}

    def delay(self, message: Hashable, chat: Hashable | None = None) -> float:
        """Seconds until `message` (in `chat`, when the budget counts it) may be updated."""
        now = self.clock()
        wait = self._last.get(message, -math.inf) + self.interval - now
        return max(wait, self._budget_delay(chat, now), 0.0)

    def _budget_delay(self, chat: Hashable | None, now: float) -> float:
        times = None if chat is None or self.per_minute is None else self._chats.get(chat)
        if times is None or self.per_minute is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._chats[chat]
            return 0.0
        return 0.0 if len(times) < self.per_minute else times[0] + self.window - now

    def take(self, message: Hashable, chat: Hashable | None = None) -> None:
        """Count an update of `message` now (and against `chat`'s budget, when given)."""
        now = self.clock()
        self._last[message] = now
        if chat is not None and self.per_minute is not None:
            self._chats.setdefault(chat, deque()).append(now)

    def admit(self, message: Hashable, chat: Hashable | None = None, *, last: bool = False) -> bool:
        """Count and allow an update if the rules let it go out now; a last one always goes."""
        if not last and self.delay(message, chat) > 0:
            return False
        self.take(message, chat)
        return True

    def ended(self, message: Hashable) -> None:
        """An update of `message` (counted when it began) just ended: its interval runs from
        now, so the platform sees updates `interval` apart however long each took to reach it."""
        self._last[message] = self.clock()

    def idle(self, message: Hashable) -> float:
        """Seconds since `message` was last updated (infinite when never)."""
        return self.clock() - self._last.get(message, -math.inf)

    def forget(self, message: Hashable) -> None:
        """Drop what is known of `message` (it will not be updated again)."""
        self._last.pop(message, None)


@dataclass(slots=True)
class _Entry(Generic[V]):
    """What one message shows, what it should show, and the task bringing it there."""

    wanted: V
    shown: V | None
    chat: Hashable | None
    task: asyncio.Task[None] | None = None
    finished: bool = False  # its last value was shown: later values are ignored


class Edits(Generic[K, V]):
    """Brings each message to its newest value through `deliver`, under one `Throttle`.

    `sent` notes a message just created (its interval starts then); `want` asks for a new
    value. Values asked for while one waits replace it, so only the newest is delivered;
    a value equal to what the message shows is not sent again. `deliver` reports its own
    failures; one that raises is logged and the value counted as shown.
    """

    def __init__(
        self,
        throttle: Throttle,
        deliver: Callable[[K, V], Awaitable[None]],
        *,
        keep: int = 512,
        forget_after: float = 600.0,
    ) -> None:
        self.throttle = throttle
        self._deliver = deliver
        self._keep = keep
        self._forget_after = forget_after
        self._entries: dict[K, _Entry[V]] = {}
        self._closed = False

    def sent(self, key: K, value: V, chat: Hashable | None = None) -> None:
        """A message showing `value` was just sent (its creation counts for the interval only)."""
        self._prune()
        self.throttle.take(key)
        self._entries[key] = _Entry(value, value, chat)

    def want(self, key: K, value: V, chat: Hashable | None = None) -> None:
        """Show `value` in message `key`: now if the rules allow, else as soon as they do."""
        entry = self._entries.get(key)
        if entry is None:
            self._prune()
            entry = self._entries[key] = _Entry(value, None, chat)
        if entry.finished:
            return
        entry.wanted, entry.chat = value, chat
        if entry.task is None and entry.wanted != entry.shown and not self._closed:
            entry.task = asyncio.create_task(self._bring(key, entry))

    async def finish(
        self,
        key: K,
        value: V,
        deliver: Callable[[K, V], Awaitable[None]],
        chat: Hashable | None = None,
    ) -> None:
        """Show `value` as the message's last: an edit still waiting is dropped, the rules are
        waited out, and `deliver` runs here (its errors are the caller's). Values wanted
        later are ignored."""
        entry = self._entries.get(key)
        if entry is None:
            self._prune()
            entry = self._entries[key] = _Entry(value, None, chat)
        await self._cancel([entry])
        entry.wanted, entry.chat, entry.finished = value, chat, True
        if entry.shown == value:
            return
        while True:
            wait = self.throttle.delay(key, chat)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self.throttle.take(key, chat)
        try:
            await deliver(key, value)
        finally:
            self.throttle.ended(key)
        entry.shown = value

    def pending(self) -> int:
        """How many messages wait for an edit."""
        return sum(1 for entry in self._entries.values() if entry.task is not None)

    async def _bring(self, key: K, entry: _Entry[V]) -> None:
        try:
            while entry.wanted != entry.shown:
                wait = self.throttle.delay(key, entry.chat)
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                value = entry.wanted
                self.throttle.take(key, entry.chat)
                try:
                    await self._send(key, value)
                finally:
                    self.throttle.ended(key)
                entry.shown = value
        finally:
            entry.task = None

    async def _send(self, key: K, value: V) -> None:
        try:
            await self._deliver(key, value)
        except Exception:  # a background task: log it here, once
            log.exception("updating message %s failed", key)

    async def settle(self, within: float) -> None:
        """On the way out: stop waiting and deliver every waiting value at once (bounded)."""
        late = [(key, entry) for key, entry in self._entries.items() if entry.task is not None]
        await self._cancel([entry for _, entry in late])
        if not late:
            return
        try:
            async with asyncio.timeout(within):
                await asyncio.gather(*(self._send(key, entry.wanted) for key, entry in late))
        except TimeoutError:
            log.warning("gave up on %d message updates while closing", len(late))

    async def close(self) -> None:
        """On the way out: drop every waiting value, and wait for none from now on."""
        self._closed = True
        await self._cancel(list(self._entries.values()))

    @staticmethod
    async def _cancel(entries: list[_Entry[V]]) -> None:
        tasks = [entry.task for entry in entries if entry.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for entry in entries:  # a task cancelled before it ran never cleared its own
            entry.task = None

    def _prune(self) -> None:
        """Forget messages nobody has updated for a while, once there are many."""
        if len(self._entries) < self._keep:
            return
        for key, entry in list(self._entries.items()):
            if entry.task is None and self.throttle.idle(key) > self._forget_after:
                del self._entries[key]
                self.throttle.forget(key)
