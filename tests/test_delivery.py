"""The outbox and its sender with fakes of our own repliers, on SQLite and PostgreSQL: retries
with backoff, `retry_after`, pictures as files when the picture route keeps failing, parts not
sent twice, permanent refusals told once, idempotent answers, and several senders at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.command import Destination
from bot.chat.replier import Parts, ProgressRef, Refused, TryLater
from bot.delivery.outbox import Outbox, text_draft
from bot.delivery.sender import PHOTO_TRIES, Sender, backoff
from bot.i18n.catalogue import text
from storage.records import JobStatus, OutboxStatus
from storage.store import Store
from tests.botkit import FakeGenerator, FakeReplier, Kit, cmd, make_bot

SMALL = "--size 64x64 --steps 2 --prior-steps 2"
TO_ANN = Destination("test", "chat-ann", "ann")


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        await asyncio.sleep(0.02)


async def started(store: Store) -> Kit:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    return kit


def test_backoff_doubles_up_to_five_minutes_and_honours_retry_after() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(30) == 300.0
    assert backoff(1, retry_after=7.0) == 7.0 and backoff(5, retry_after=1.0) == 8.0


async def test_a_result_is_tried_until_it_goes_then_as_files(store: Store) -> None:
    kit = await started(store)
    kit.replier.fail("send_images", *[TryLater("502 Bad Gateway")] * 2)
    await kit.bot.handle(cmd("ann", "imagine", f"a fox {SMALL}"))
    await kit.idle()
    assert len(kit.replier.images) == 1 and kit.replier.files == [False]
    (job,) = await store.jobs((JobStatus.DONE,))
    sent = await store.outbox_message(f"job:{job.id}:result")
    assert sent is not None and sent.status is OutboxStatus.SENT and sent.attempts == 3

    # the picture route keeps failing: from the next try on, the pictures go as files
    kit.replier.fail("send_images", *[TryLater("500 Internal Server Error")] * PHOTO_TRIES)
    await kit.bot.handle(cmd("ann", "imagine", f"another fox {SMALL}"))
    await kit.idle()
    assert kit.replier.files == [False, True]
    await kit.queue.stop()


async def test_retry_after_is_honoured(store: Store) -> None:
    kit = await started(store)
    kit.replier.fail("send_images", TryLater("429 Too Many Requests", retry_after=30.0))
    await kit.bot.handle(cmd("ann", "imagine", f"a slow fox {SMALL}"))
    await kit.queue.wait_idle()
    (job,) = await store.jobs((JobStatus.DONE,))
    key = f"job:{job.id}:result"

    async def waiting() -> bool:
        message = await store.outbox_message(key)
        return message is not None and message.status is OutboxStatus.PENDING

    await until(waiting, "retry")
    message = await store.outbox_message(key)
    assert message is not None and message.error == "429 Too Many Requests"
    assert message.next_at - datetime.now(UTC) > timedelta(seconds=20)
    assert kit.replier.images == []
    await kit.outbox.sender.stop()
    await kit.queue.stop()


async def test_a_refused_result_is_told_once_when_its_owner_writes(store: Store) -> None:
    kit = await started(store)
    kit.replier.fail("send_images", Refused("Forbidden: bot was blocked by the user"))
    await kit.bot.handle(cmd("ann", "imagine", f"a fox nobody sees {SMALL}"))
    await kit.idle()
    assert kit.replier.images == []
    assert kit.replier.texts == [], "nobody is told before they write"
    user = await store.find_user("test", "ann")
    assert user is not None
    images, _ = await store.history(user.id)
    assert len(images) == 1, "the picture is in /history"

    await kit.bot.handle(cmd("ann", "quota"))
    await kit.bot.handle(cmd("ann", "quota"))
    said = kit.replier.said("ann")
    notice = text("en", "undelivered_results", count=1)
    assert said.count(notice) == 1
    assert "Today you have used" in said[said.index(notice) + 1]
    await kit.queue.stop()


async def test_an_answer_to_a_command_handled_twice_goes_once(store: Store) -> None:
    kit = await started(store)
    for _ in range(2):
        await kit.bot.handle(cmd("ann", "quota", source="message:chat-ann:41"))
    assert len(kit.replier.said("ann")) == 1
    for _ in range(2):  # without a source, nothing tells the two apart
        await kit.bot.handle(cmd("ann", "quota"))
    assert len(kit.replier.said("ann")) == 3
    # a failed answer is tried again (and the command's other answers go meanwhile)
    kit.replier.fail("send_text", TryLater("network down"))
    await kit.bot.handle(cmd("ann", "help", source="message:chat-ann:42"))
    await kit.idle()
    assert len(kit.replier.said("ann")) == 4
    await kit.queue.stop()


class Chunky(FakeReplier):
    """Sends a text in `|`-separated chunks, noting each in its parts; fails once at one."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.chunks: list[str] = []

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        parts = {} if parts is None else parts
        for number, chunk in enumerate(text.split("|")):
            if number < parts.get("chunks", 0):
                continue
            if number == self.fail_at:
                self.fail_at = -1
                raise TryLater("the connection broke")
            self.chunks.append(chunk)
            parts["chunks"] = number + 1


async def test_the_parts_already_sent_are_not_sent_again(store: Store) -> None:
    chunky = Chunky(fail_at=1)
    outbox = Outbox(store, Sender(store, {"test": chunky}))
    await outbox.send(text_draft(TO_ANN, "one|two|three", key="long"))
    assert chunky.chunks == ["one"]
    await outbox.wait_idle()
    assert chunky.chunks == ["one", "two", "three"]


async def test_two_senders_deliver_each_message_once(stores: tuple[Store, Store]) -> None:
    first, second = stores
    repliers = [FakeReplier(), FakeReplier()]
    senders = [Sender(store, {"test": r}) for store, r in zip(stores, repliers, strict=True)]
    drafts = [text_draft(TO_ANN, f"message {n}", key=f"m{n}") for n in range(20)]
    await first.post_messages(drafts)
    await asyncio.gather(*(sender.wait_idle() for sender in senders))
    said = repliers[0].said("ann") + repliers[1].said("ann")
    assert sorted(said) == sorted(f"message {n}" for n in range(20))
    assert await second.messages_waiting(["test"]) == 0


async def test_a_message_a_stopped_run_was_sending_is_taken_over(store: Store) -> None:
    # A run died in the middle of a try: its message is held for minutes.
    await store.post_messages([text_draft(TO_ANN, "still here", key="held")], hold=timedelta(1))
    replier = FakeReplier()
    sender = Sender(store, {"test": replier}, poll=0.05)
    await sender.start(takeover=True)  # the embedded queue's process: nobody else sends

    async def sent() -> bool:
        message = await store.outbox_message("held")
        return message is not None and message.status is OutboxStatus.SENT

    try:
        await until(sent, "the message")
    finally:
        await sender.stop()
    assert replier.said("ann") == ["still here"]


class InOrder(FakeReplier):
    """Notes which kind of message each try was, in the order the tries began."""

    def __init__(self) -> None:
        super().__init__()
        self.tries: list[str] = []

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        self.tries.append("status")
        await super().end_progress(destination, text, ref)

    async def send_images(self, *args: Any, **kwargs: Any) -> None:
        self.tries.append("pictures")
        await asyncio.sleep(0.05)  # a slow upload: the status still waits for it
        await super().send_images(*args, **kwargs)


async def test_a_jobs_pictures_go_before_its_status_text(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    replier = InOrder()
    kit.repliers["test"] = replier
    await kit.queue.start()
    await kit.bot.handle(cmd("ann", "imagine", f"a fox {SMALL}"))
    await kit.idle()
    assert replier.tries == ["pictures", "status"]
    assert [text for _, text, _ in replier.progress][-1] == "Job #1 is done."
    await kit.queue.stop()
