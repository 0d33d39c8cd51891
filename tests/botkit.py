"""Fakes of the bot's own interfaces, and a way to build a bot around a real store."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from bot.app.root import build_router
from bot.chat.command import Button, Command, Destination, OutImage
from bot.chat.replier import DeliveryError, Parts, ProgressRef
from bot.commands.context import BotConfig, Services
from bot.commands.dispatch import Bot
from bot.control.port import Holding, Outcome, Report
from bot.delivery.outbox import Outbox
from bot.delivery.sender import Sender
from bot.jobs import spans
from bot.jobs.local import LocalQueue
from bot.jobs.notify import Notifier
from bot.jobs.port import JobQueue
from generation.families import DEFAULT_FAMILIES
from generation.images import encode_png
from generation.request import GenerationRequest, validate
from generation.timing import CallTiming
from storage.store import Store


@dataclass
class FakeReplier:
    """Records everything the bot says; `fail` makes the next calls of a method raise."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    progress: list[tuple[str, str, int]] = field(default_factory=list)
    images: list[tuple[str, list[OutImage], str, list[Button]]] = field(default_factory=list)
    files: list[bool] = field(default_factory=list)
    """For each result sent: whether it went as files (`as_files`)."""
    failures: dict[str, list[DeliveryError]] = field(default_factory=dict)

    def fail(self, method: str, *errors: DeliveryError) -> None:
        """The next calls of `method` raise these errors, one each."""
        self.failures.setdefault(method, []).extend(errors)

    def _maybe_fail(self, method: str) -> None:
        waiting = self.failures.get(method)
        if waiting:
            raise waiting.pop(0)

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        self._maybe_fail("send_text")
        self.texts.append((destination.user_id, text))

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        ref = ref or {"id": len(self.progress) + 1}
        self.progress.append((destination.user_id, text, int(ref["id"])))
        return ref

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        self._maybe_fail("end_progress")
        ref = ref or {"id": len(self.progress) + 1}
        self.progress.append((destination.user_id, text, int(ref["id"])))

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
        *,
        parts: Parts | None = None,
        as_files: bool = False,
    ) -> None:
        self._maybe_fail("send_images")
        self.images.append((destination.user_id, images, caption, buttons))
        self.files.append(as_files)

    def said(self, user: str) -> list[str]:
        return [text for who, text in self.texts if who == user]


@dataclass
class Made:
    images: list[bytes]
    seeds: list[int]
    timing: CallTiming | None = None
    made: float = field(default_factory=time.monotonic)
    encoded: float = field(default_factory=time.monotonic)
    flagged: tuple[float | None, ...] = ()
    checked: float = 0.0


class FakeGenerator:
    """Makes 8x8 PNGs with the real recipe chunks; can be held to let a queue build up."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next: Exception | None = None
        self.calls = 0

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Made]:
        self.calls += 1
        self.order.extend(request.prompt for request in requests)
        await self.gate.wait()
        if progress:
            progress(1, 1)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        made = []
        for request in requests:
            seed = request.seed or 0
            pngs = [
                encode_png(
                    Image.new("RGB", (8, 8), (seed % 256, 0, 0)),
                    {**request.recipe(), "seed": seed + i},
                )
                for i in range(request.num_images)
            ]
            made.append(Made(pngs, [seed + i for i in range(request.num_images)]))
        return made


class FakeEngine:
    """Admin engine control without an engine: one process, `fake`, serving every family."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def holdings(self) -> list[Holding]:
        return [Holding("fake", "cpu", DEFAULT_FAMILIES.names(), tuple(self.names))]

    async def preload(self, family: str) -> Report:
        self.names.append(f"{family}/text2img")
        return Report.of([Outcome("fake", True, tuple(self.names))])

    async def unload(self, family: str | None) -> Report:
        count = len(self.names)
        self.names.clear()
        return Report.of([Outcome("fake", True, (), dropped=count)])


def prepare(request: GenerationRequest) -> GenerationRequest:
    """The pure part of the service's prepare: validate and resolve."""
    return validate(request).resolved()


@dataclass
class Kit:
    bot: Bot
    queue: JobQueue
    replier: FakeReplier
    store: Store
    repliers: dict[str, Any]
    notifier: Notifier
    outbox: Outbox

    async def idle(self) -> None:
        """Wait until no job is queued or running and every message is out."""
        await self.queue.wait_idle()
        await self.outbox.wait_idle()


# The senders of the kits made over each store: the store fixtures stop them before closing
# the store, so no delivery a test left running outlives its event loop.
_SENDERS: weakref.WeakKeyDictionary[Store, list[Sender]] = weakref.WeakKeyDictionary()


async def stop_senders(store: Store) -> None:
    """Stop the senders of the kits made over `store` (their deliveries end or are stopped)."""
    for sender in _SENDERS.pop(store, []):
        await sender.stop()


# Builds the queue of a kit from its notifier and its repliers (the platforms it serves).
QueueMaker = Callable[[Notifier, dict[str, Any]], JobQueue]


def make_bot(
    store: Store,
    generator: Any,
    *,
    queue_maker: QueueMaker | None = None,
    prepare_fn: Callable[[GenerationRequest], GenerationRequest] = prepare,
    **config: Any,
) -> Kit:
    """A bot over `store` with a fake replier on platform "test" (the embedded queue unless
    `queue_maker` builds another)."""
    replier = FakeReplier()
    repliers: dict[str, Any] = {"test": replier}
    sender = Sender(store, repliers, delivered=spans.delivered)
    _SENDERS.setdefault(store, []).append(sender)
    outbox = Outbox(store, sender)
    notifier = Notifier(store, repliers, outbox, progress_interval=0.0)
    if queue_maker is None:
        queue: JobQueue = LocalQueue(store, generator, notifier, platforms=repliers)
    else:
        queue = queue_maker(notifier, repliers)
    router = build_router()
    services = Services(
        store=store,
        queue=queue,
        notifier=notifier,
        outbox=outbox,
        engine=FakeEngine(),
        config=BotConfig(**config),
        repliers=repliers,
        prepare=prepare_fn,
        menu=tuple(router.menu()),
    )
    bot = Bot(services, router)
    return Kit(bot, queue, replier, store, repliers, notifier, outbox)


def cmd(user: str, name: str, text: str = "", **extra: Any) -> Command:
    """A command from user `user` on the test platform."""
    return Command(
        platform="test",
        user_id=user,
        user_name=user,
        chat_id=f"chat-{user}",
        name=name,
        text=text,
        **extra,
    )
