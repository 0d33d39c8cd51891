"""/animate in the bot core: its cost in credits (said when queued, reserved, refunded when the
job fails or is cancelled, running or waiting), a video never shares a pipeline call with
pictures, its progress says it is encoding, and what cannot be made is refused with a
sentence and costs nothing. Real store, fakes of our own interfaces."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from bot.chat.command import Action, Attachment
from bot.jobs.local import LocalQueue
from bot.jobs.notify import Notifier
from generation import video
from generation.batching import batch_key
from generation.intake import Intake
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


class _Videos(FakeGenerator):
    """Makes a real (tiny) MP4 for a video request, as the engine does; pictures as before."""

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Made]:
        made = await super().generate_batch(requests, progress, cancel)
        for request, result in zip(requests, made, strict=True):
            if request.task is Task.ANIMATE:
                frames = [Image.new("RGB", (16, 16), (40 * n, 0, 0)) for n in range(5)]
                recipe = request.recipe()
                result.images = [
                    video.encode_mp4(frames, 1, {**recipe, "seed": seed}) for seed in result.seeds
                ]
        return made


async def test_a_stored_video_is_no_picture_to_start_from_and_costs_nothing(
    store: Store,
) -> None:
    """Naming a video (by number, `--from`, a reply, a button or /init) where a command
    starts from a picture is refused with a sentence, in the user's language, and charges
    nothing; a video's result offers only the buttons that work on it."""
    kit = make_bot(store, _Videos())
    await kit.queue.start()
    await kit.bot.handle(cmd("vi", "animate", f"a paper boat {VIDEO}"))
    await kit.bot.handle(cmd("vi", "imagine", "a picture --size 64x64"))
    await kit.idle()
    (_, (moving,), _, buttons), _ = kit.replier.images
    assert moving.filename.endswith(".mp4") and moving.data[4:8] == b"ftyp"
    # again and the recipe (the others start from a picture), and a report like any result
    assert {button.action for button in buttons} == {Action.REROLL, Action.RECIPE, Action.REPORT}
    used = await _used(store, "vi")
    sentence = "#1 is a video, and /{} starts from a picture"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("variations", "1", {}),
        ("variations", "", {"reply_image_id": 1}),  # its button, were there one
        ("img2img", "--from 1 a lake", {}),
        ("inpaint", "--from 1 a lake", {}),
        ("depth", "--from 1 a lake", {}),
        ("mix", "--from 1 a cat::0.5", {}),
        ("mix", "a cat::0.5 | a dog::0.5", {"reply_image_id": 1}),
        ("edit", "#1 make it night", {}),
        ("edit", "1", {}),
        ("edit", "make it night", {"reply_image_id": 1}),
        ("img2img", "a lake", {"reply_image_id": 1}),
        ("animate", "waves", {"reply_image_id": 1}),
        ("animate", "waves --from 1", {}),
        ("init", "1", {}),
    ]
    for name, body, extra in cases:
        await kit.bot.handle(cmd("vi", name, body, **extra))
        answer = kit.replier.said("vi")[-1]
        assert answer.startswith(sentence.format(name)), (name, body, answer)
    await kit.bot.handle(cmd("vi", "variations", "1", locale="ru"))
    assert kit.replier.said("vi")[-1].startswith("#1 — это видео, а /variations начинает")
    await kit.bot.handle(cmd("vi", "img2img", "--from 1 a lake", locale="ar"))
    assert kit.replier.said("vi")[-1].startswith("#1 مقطع فيديو، و/img2img يبدأ من صورة")
    await kit.bot.handle(cmd("vi", "img2img", "a lake", reply_image_id=2))
    await kit.idle()
    assert len(await store.jobs((JobStatus.DONE,))) == 2, "a picture replied to is not refused"
    assert await _used(store, "vi") == used
    await kit.queue.stop()


async def test_animate_on_a_file_that_is_no_picture_is_refused(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), prepare_fn=Intake().prepare)
    await kit.queue.start()
    document = (Attachment(b"%PDF-1.7 not a picture", "notes.pdf", "application/pdf"),)
    for given in ({"reply_attachments": document}, {"attachments": document}):
        await kit.bot.handle(cmd("wu", "animate", "waves --steps 2 --fps 4", **given))
        assert kit.replier.said("wu")[-1] == "the picture is not a PNG, JPEG or WebP picture"
    assert await _used(store, "wu") == 0
    assert not await store.jobs(tuple(JobStatus))
    await kit.queue.stop()
