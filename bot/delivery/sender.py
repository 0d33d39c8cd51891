"""The sender: delivers the outbox's messages through each platform's `Replier`, with retries.

Each try holds its message for `HOLD` (`Store.claim_message`), so no other sender, in this
process or another, tries it meanwhile; a sender that dies mid-try leaves it to be tried again
once the hold runs out (at-least-once: a message the platform took just before the crash may
go twice). How a try ends:

- delivered: the message is `sent`;
- `TryLater` (network, server errors, rate limits, no connection) or an unexpected error: it
  is tried again after 0.5 s, 1 s, 2 s ... up to 5 minutes, or after the platform's
  `retry_after` when that is longer, for up to a day;
- `Refused` (the user blocked the bot, the chat is gone), or a day of failures: it `failed`.
  A failed result stays in the user's /history, and they hear of it when they next write.

Pictures are sent as files from the `PHOTO_TRIES`th failed try on (a picture route that keeps
failing). Of the messages stored together (how a job ended), the pictures are tried first and
the rest once the pictures' try is over, so a status edit never holds up a photo. A sender that
shares the outbox with other processes looks for due messages each second (sooner when a retry
it scheduled is due). The only sender (`takeover`: the embedded queue's process) takes over the
messages a stopped process held when it starts, and afterwards stores every message itself and
tries each at once, so it looks only when a retry it scheduled is due, and once a minute in
case (`SWEEP_SECONDS`): a process at rest does no work. A message sent in parts (an album and
its buttons, a long text) is retried from the part that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.command import Action, Button, Destination, OutImage
from bot.chat.labels import image_label
from bot.chat.replier import DeliveryError, Parts, Refused, Replier, TryLater
from generation.media import suffix
from storage.records import OutboxRecord
from storage.store import Store

log = logging.getLogger(__name__)

# Kinds of messages.
TEXT = "text"
STATUS = "status"
IMAGES = "images"

HOLD = timedelta(minutes=5)
"""How long one try may take before another sender may try the message again."""
FIRST_DELAY = 0.5
MAX_DELAY = 300.0
GIVE_UP = timedelta(days=1)
KEEP = timedelta(days=7)
"""How long delivered messages (and so their keys) are kept."""
PHOTO_TRIES = 3
POLL_SECONDS = 1.0
SWEEP_SECONDS = 60.0
"""How often the only sender looks for due messages it did not schedule itself."""
PRUNE_SECONDS = 3600.0
STOP_SECONDS = 5.0
"""How long tries in flight may go on once the sender is asked to stop."""
MAX_IN_FLIGHT = 64


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try, after `attempts` failed ones."""
    delay = min(FIRST_DELAY * 2.0 ** max(attempts - 1, 0), MAX_DELAY)
    return max(delay, retry_after or 0.0)


async def _finish(write: Coroutine[Any, Any, Any]) -> None:
    """Record how a try went even when the sender is being stopped: a message the platform
    took must not be sent again."""
    task = asyncio.ensure_future(write)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def _buttons(payload: dict[str, Any]) -> list[Button]:
    return [
        Button(Action(item["action"]), int(item["image_id"]), str(item["label"]))
        for item in payload.get("buttons") or ()
    ]


class Sender:
    """Delivers stored messages to the platforms of `repliers` (adapters add theirs later)."""

    def __init__(
        self,
        store: Store,
        repliers: Mapping[str, Replier],
        *,
        poll: float = POLL_SECONDS,
        delivered: Callable[[OutboxRecord], None] | None = None,
    ) -> None:
        """`delivered` hears each message the moment its platform took it."""
        self.store = store
        self.repliers = repliers
        self.poll = poll
        self.delivered = delivered
        self._interval = poll
        self._flying: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._pruned_at: float | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self, *, takeover: bool) -> None:
        """Start the loop; with `takeover` (no other process sends), messages a stopped
        process held are due at once."""
        if takeover:
            released = await self.store.release_messages()
            if released:
                log.info("took over %d messages an earlier run was sending", released)
        self._interval = max(self.poll, SWEEP_SECONDS) if takeover else self.poll
        self._loop = asyncio.create_task(self._run(), name="kbot-outbox")

    async def stop(self, grace: float = STOP_SECONDS) -> None:
        """Stop the loop; tries in flight get `grace` seconds to end, then are stopped (their
        messages are due again at once)."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, records: Sequence[OutboxRecord]) -> None:
        """Deliver claimed messages in the background, each on its own (a status edit that
        waits for the chat's flood limits does not hold up the pictures); pictures first, the
        others once the pictures' try is over."""
        pictures = [record for record in records if record.kind == IMAGES]
        first = [self._start(self.deliver(record), record) for record in pictures]
        for record in records:
            if record.kind != IMAGES:
                self._start(self._after(first, record), record)

    def _start(
        self, delivery: Coroutine[Any, Any, None], record: OutboxRecord
    ) -> asyncio.Task[None]:
        self._flying.add(record.id)
        task = asyncio.create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _after(self, first: Sequence[asyncio.Task[None]], record: OutboxRecord) -> None:
        """Deliver `record` once the tries of `first` are over."""
        if first:
            try:
                await asyncio.wait(first)
            except asyncio.CancelledError:  # stopped before its try: due again at once
                self._flying.discard(record.id)
                await _finish(self.store.release_messages([record.id]))
                raise
        await self.deliver(record)

    async def wait_idle(self) -> None:
        """Wait until every message to the platforms served here is out (or given up)."""
        while True:
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            if not await self.store.messages_waiting(list(self.repliers)):
                return
            await self._send_due()
            await asyncio.sleep(0.05)

    # -- one try ------------------------------------------------------------------------------
    async def deliver(self, record: OutboxRecord) -> None:
        """Try a claimed message once and record how it went (never raises but cancellation)."""
        self._flying.add(record.id)
        parts: Parts = dict(record.payload.get("parts") or {})
        try:
            try:
                await self._attempt(record, parts)
            except DeliveryError as error:
                await _finish(self._failed(record, error, parts))
            except asyncio.CancelledError:
                await _finish(self.store.release_messages([record.id]))
                raise
            except Exception as error:  # a fault of ours: logged, and tried again like the rest
                log.exception("sending message #%s failed", record.id)
                failure = TryLater(f"{type(error).__name__}: {error}")
                await _finish(self._failed(record, failure, parts))
            else:
                if self.delivered is not None:
                    self.delivered(record)
                await _finish(self.store.message_sent(record.id))
        finally:
            self._flying.discard(record.id)

    async def _attempt(self, record: OutboxRecord, parts: Parts) -> None:
        replier = self.repliers.get(record.platform)
        if replier is None:
            raise TryLater(f"no {record.platform} adapter runs here")
        destination = Destination.from_dict(record.destination)
        payload = record.payload
        if record.kind == TEXT:
            await replier.send_text(destination, str(payload["text"]), parts=parts)
        elif record.kind == STATUS:
            await replier.end_progress(destination, str(payload["text"]), payload.get("ref"))
        elif record.kind == IMAGES:
            hidden = set(payload.get("spoilers") or ())
            images = [
                await self._image(int(image_id), image_id in hidden)
                for image_id in payload["images"]
            ]
            await replier.send_images(
                destination,
                images,
                str(payload["caption"]),
                _buttons(payload),
                parts=parts,
                as_files=record.attempts > PHOTO_TRIES,
            )
        else:
            raise Refused(f"no such kind of message: {record.kind!r}")

    async def _image(self, image_id: int, spoiler: bool = False) -> OutImage:
        """A stored result, read for sending (behind a spoiler, if `spoiler`)."""
        image = await self.store.get_image(image_id)
        if image is None:
            raise Refused(f"image #{image_id} is gone")
        try:
            data = await self.store.read_image(image)
        except OSError as error:
            raise Refused(f"image #{image_id} cannot be read: {error}") from None
        label = image_label(image)
        return OutImage(data, image.id, f"kandinsky-{label}{suffix(data)}", label, spoiler)

    async def _failed(self, record: OutboxRecord, error: DeliveryError, parts: Parts) -> None:
        what = f"message #{record.id} ({record.key or record.kind}) to {record.platform}"
        now = datetime.now(UTC)
        if error.permanent or now - record.created_at > GIVE_UP:
            log.warning("gave up on %s: %s", what, error.reason)
            await self.store.fail_message(record.id, error.reason)
            return
        delay = backoff(record.attempts, error.retry_after)
        log.warning("could not deliver %s: %s; trying again in %.1f s", what, error.reason, delay)
        payload = {**record.payload, "parts": parts} if parts else record.payload
        await self.store.retry_message(
            record.id, now + timedelta(seconds=delay), error.reason, payload
        )
        asyncio.get_running_loop().call_later(delay, self._wake.set)

    # -- the loop -----------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            self._wake.clear()
            pause = self._interval
            try:
                await self._send_due()
                await self._prune()
                pause = await self._until_next()
            except Exception:  # the database, most likely: the next round may fare better
                log.exception("could not look for messages to send")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def _until_next(self) -> float:
        """Seconds until the next round: the interval, or sooner when a retry is due sooner
        (one a stopped run scheduled has no timer in this process)."""
        soonest = await self.store.next_message_try(list(self.repliers))
        if soonest is None:
            return self._interval
        due_in = (soonest - datetime.now(UTC)).total_seconds()
        return min(self._interval, max(due_in, 0.05))

    async def _send_due(self) -> None:
        """Claim the due messages (not in flight here) and deliver each in the background."""
        if len(self._flying) >= MAX_IN_FLIGHT:
            return
        for record in await self.store.due_messages(list(self.repliers), MAX_IN_FLIGHT):
            if record.id in self._flying:
                continue
            claimed = await self.store.claim_message(record.id, HOLD)
            if claimed is not None:
                self.spawn([claimed])

    async def _prune(self) -> None:
        """Now and then, forget messages delivered long ago."""
        now = asyncio.get_running_loop().time()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = now
        await self.store.prune_outbox(datetime.now(UTC) - KEEP, keep_kind=IMAGES)
