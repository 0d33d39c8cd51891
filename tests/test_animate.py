"""/animate in the bot core: its cost in credits (said when queued, reserved, refunded when the
job fails or is cancelled, running or waiting), a video never shares a pipeline call with
pictures, its progress says it is encoding, and what cannot be made is refused with a
sentence and costs nothing. Real store, fakes of our own interfaces."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

from bot.chat.command import Attachment
from bot.jobs.local import LocalQueue
from bot.jobs.notify import Notifier
from generation.batching import batch_key
from generation.request import GenerationRequest, Task
from storage.records import JobStatus
from storage.store import Store
from tests.botkit import FakeGenerator, Made, cmd, make_bot
from tests.helpers import png

VIDEO = "--size 512x512 --steps 2 --fps 1"


async def _used(store: Store, name: str) -> int:
    user = await store.find_user("test", name)
    assert user is not None
    return (await store.quota(user.id)).used_today


async def test_a_video_costs_its_credits_said_when_queued_and_refunded_when_it_fails(
    store: Store,
) -> None:
    generator = FakeGenerator()
    kit = make_bot(store, generator, video_cost=3)
    await kit.queue.start()
    await kit.bot.handle(cmd("ann", "animate", f"a paper boat {VIDEO}"))
    await kit.idle()
    shown = [text for _, text, _ in kit.replier.progress]
    assert any("Queued as job #1, a video for 3 credits" in text for text in shown), shown
    assert await _used(store, "ann") == 3
    (job,) = await store.jobs((JobStatus.DONE,))
    assert job.request.task is Task.ANIMATE and job.request.model == "5v"
    assert job.cost == 3
    await kit.bot.handle(cmd("ann", "animate", f"a longer boat {VIDEO} --seconds 10"))
    await kit.idle()
    assert await _used(store, "ann") == 3 + 6, "10 seconds cost twice 5"
    generator.fail_next = RuntimeError("out of memory")
    await kit.bot.handle(cmd("ann", "animate", f"a failing boat {VIDEO}"))
    await kit.idle()
    assert await _used(store, "ann") == 9, "a failed video's credits come back"
    assert any("failed" in line and "refunded" in line for line in kit.replier.said("ann"))
    await kit.queue.stop()


class _Batches(FakeGenerator):
    """Remembers the tasks of each call, and says when the first began."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.began = asyncio.Event()

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Made]:
        self.batches.append([str(request.task) for request in requests])
        self.began.set()
        return await super().generate_batch(requests, progress, cancel)


async def test_a_video_cancelled_while_it_runs_or_waits_gives_its_credits_back(
    store: Store,
) -> None:
    generator = _Batches()
    generator.gate.clear()
    kit = make_bot(store, generator)
    await kit.queue.start()
    await kit.bot.handle(cmd("bo", "animate", f"first {VIDEO}"))
    await kit.bot.handle(cmd("bo", "animate", f"second {VIDEO}"))
    await generator.began.wait()
    assert await _used(store, "bo") == 10
    (running,) = kit.queue.running()
    await kit.bot.handle(cmd("bo", "cancel", str(running.id)))
    await kit.bot.handle(cmd("bo", "cancel"))  # the newest waiting one
    generator.gate.set()
    await kit.idle()
    assert await _used(store, "bo") == 0
    statuses = sorted(job.status for job in await store.jobs(tuple(JobStatus)))
    assert statuses == ["cancelled", "failed"], "the running one ends as cancelled (failed)"
    await kit.queue.stop()


async def test_the_progress_of_a_video_says_it_is_encoding_after_its_last_step(
    store: Store,
) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    await kit.bot.handle(cmd("cy", "animate", f"a boat {VIDEO}"))
    await kit.bot.handle(cmd("cy", "imagine", "a picture --size 64x64"))
    await kit.idle()
    shown = [text for _, text, _ in kit.replier.progress]
    assert any("1/1, encoding the video…" in text for text in shown), shown
    assert sum("encoding" in text for text in shown) == 1, "a picture's progress does not"
    await kit.queue.stop()


async def test_a_video_is_never_batched_with_pictures_or_other_videos(store: Store) -> None:
    generator = _Batches()
    generator.gate.clear()

    def batching(notifier: Notifier, repliers: dict[str, Any]) -> LocalQueue:
        return LocalQueue(
            store, generator, notifier, platforms=repliers, max_batch=8, batch_key=batch_key
        )

    kit = make_bot(store, generator, queue_maker=batching, user_queue=20)
    await kit.queue.start()
    await kit.bot.handle(cmd("di", "imagine", "a hold --size 64x64 --model 2.2"))
    await generator.began.wait()
    for name in ("di", "ed", "fa"):
        await kit.bot.handle(cmd(name, "animate", f"a boat {VIDEO}"))
        await kit.bot.handle(cmd(name, "imagine", "a fox --size 64x64 --model 2.2"))
    generator.gate.set()
    await kit.idle()
    videos = [batch for batch in generator.batches if "animate" in batch]
    assert videos == [["animate"]] * 3, generator.batches
    assert ["text2img"] * 3 in generator.batches, "the pictures still share one call"
    await kit.queue.stop()


async def test_what_cannot_be_animated_is_refused_with_a_sentence_and_costs_nothing(
    store: Store,
) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    picture = png((64, 64))
    cases = [
        (
            "waves --size 512x512 --fps 2",
            "a picture set in motion needs at least 17 frames, and these settings make 13",
        ),
        ("a boat --size 640x480", "640x480"),
        ("a boat --model 3", "Kandinsky 3 makes pictures, not videos; /animate uses model 5v"),
        ("a boat --model 2.2", "Kandinsky 2.2 makes pictures, not videos"),
        ("a boat --model 2.1", "Kandinsky 2.1 makes pictures, not videos"),
        ("a boat --seconds 7", "7"),
    ]
    for number, (text, expected) in enumerate(cases):
        attachments = (Attachment(picture, "p.png", "image/png"),) if number == 0 else ()
        await kit.bot.handle(cmd("gu", "animate", text, attachments=attachments))
        await kit.idle()
        assert expected in kit.replier.said("gu")[-1], kit.replier.said("gu")
    assert "768x512, 512x768, 512x512" in kit.replier.said("gu")[1]
    assert await _used(store, "gu") == 0
    assert not await store.jobs(tuple(JobStatus))
    await kit.queue.stop()
