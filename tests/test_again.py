"""Recipes that replay and the numbers people see.

/show's "Again:" line makes the same PNG (the demo's, on the tiny models, to the byte,
`--batch` included); a picture is numbered after its job (`12`, `12.2`, `12.in`); `--from`
names only the caller's pictures. How `--batch` runs is tested in tests/test_regenerate.py.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.app.console import run_console
from bot.app.demo import DEMO_USER, demo_settings, run_demo
from bot.app.settings import Settings
from bot.chat.command import Attachment, Command
from bot.chat.labels import Label, format_label, parse_label
from storage.records import JobRecord, JobStatus
from storage.store import Store
from tests.botkit import FakeGenerator, Kit, cmd, make_bot
from tests.helpers import mask_png, png

SMALL = "--size 64x64 --steps 2 --prior-steps 2"
PNG_LINE = re.compile(r"^(\S+\.png)$")
CAPTION_LABELS = re.compile(r" · ((?:#\S+ ?)+)$")


# -- the demo, made again line by line ------------------------------------------------------


async def _typed(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _chat(settings: Settings, output: Path, lines: list[str]) -> str:
    out = io.StringIO()
    session = run_console(
        settings, output, lines=_typed(lines), out=out, user=DEMO_USER, echo=True, wait_each=True
    )
    asyncio.run(session)
    return out.getvalue()


def _results(transcript: str) -> dict[str, Path]:
    """Each picture's label and file, in the order the transcript shows them."""
    made: dict[str, Path] = {}
    files: list[Path] = []
    for line in transcript.splitlines():
        if PNG_LINE.match(line):
            files.append(Path(line))
        elif (caption := CAPTION_LABELS.search(line)) is not None and files:
            labels = [label.removeprefix("#") for label in caption.group(1).split()]
            assert len(labels) == len(files), (labels, files)
            made.update(zip(labels, files, strict=True))
            files = []
    return made


@pytest.fixture(scope="module")
def demo(tiny_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    output = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    run_demo(tiny_settings, output, out=out)
    return output, out.getvalue()


def test_every_again_line_of_the_demo_makes_the_same_png(
    demo: tuple[Path, str], tiny_settings: Settings
) -> None:
    output, transcript = demo
    made = _results(transcript)
    assert list(made) == ["1.1", "1.2", "2", "3", "4", "5", "6", "7", "8", "9"], transcript
    settings = demo_settings(tiny_settings, output)
    shown = _chat(settings, output, [f"/show {label}" for label in made])
    again = re.findall(r"^Again: (.+)$", shown, re.MULTILINE)
    assert len(again) == len(made), shown
    commands = [line.split()[0] for line in again]
    assert commands == [
        *(["/imagine"] * 2 + ["/img2img", "/inpaint", "/mix"] + ["/depth"] * 3),
        *("/imagine", "/edit"),  # Kandinsky 5: a picture, and an edit of the lighthouse
    ]
    assert "--batch 2/2" in again[1] and "--seed 8" in again[1]
    assert "--from 2.in" in again[2] and "--strength 0.5" in again[2]
    assert "--from 3.in1,3.in2" in again[3]
    assert again[4].startswith("/mix a cat::0.3 | #1::0.7 ") and "--from 4.in" in again[4]
    assert "--init" in again[6] and '--neg ""' in again[6]
    remade = _results(_chat(settings, output / "again", again))
    assert len(remade) == len(made)
    for (label, first), second in zip(made.items(), remade.values(), strict=True):
        assert second.read_bytes() == first.read_bytes(), label


# -- labels ------------------------------------------------------------------------------------


def test_labels_are_read_back_as_written() -> None:
    cases = {
        format_label(12): Label(12, None),
        format_label(12, 1, 3): Label(12, 1),
        format_label(12, given=True): Label(12, None, given=True),
        format_label(12, 1, 2, given=True): Label(12, 1, given=True),
    }
    assert list(cases) == ["12", "12.2", "12.in", "12.in2"]
    for written, label in cases.items():
        assert parse_label(written) == label
        assert parse_label(f"#{written}") == label
    for word in ("", "0", "12.", "12.0", "12.x", "1.2.3", "-1", "in", "2" * 40, "12.in0", "１２"):
        assert parse_label(word) is None, word


# -- the bot, with a fake generator ------------------------------------------------------------


async def _ran(kit: Kit, command: Command) -> None:
    await kit.bot.handle(command)
    await kit.idle()


def _said(kit: Kit, user: str) -> str:
    return kit.replier.said(user)[-1]


async def _newest_job(store: Store, user: str) -> JobRecord:
    owner = await store.find_user("test", user)
    assert owner is not None
    return (await store.jobs((JobStatus.DONE,), owner.id))[-1]


async def test_pictures_are_numbered_after_their_jobs(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    await _ran(kit, cmd("pat", "imagine", f"a fox --n 2 {SMALL}"))
    await _ran(kit, cmd("pat", "imagine", f"an owl {SMALL}"))
    (_, first, caption, _), (_, second, _, _) = kit.replier.images
    assert caption.endswith("· #1.1 #1.2") and [image.label for image in first] == ["1.1", "1.2"]
    assert [image.label for image in second] == ["2"]
    assert any("Job #2 is done." in text for _, text, _ in kit.replier.progress)
    await kit.bot.handle(cmd("pat", "history"))
    listed = re.findall(r"^#(\S+) ·", _said(kit, "pat"), re.MULTILINE)
    assert listed == ["2", "1.2", "1.1"]
    for word, answer in [
        ("1.2", "Image #1.2: text2img"),
        ("#1.2", "Image #1.2: text2img"),
        ("1", "Image #1.1: text2img"),
        ("2", "Image #2: text2img"),
        ("1.3", "There is no image #1.3."),
        ("3", "There is no image #3."),
        ("2.in", "There is no image #2.in."),
    ]:
        await kit.bot.handle(cmd("pat", "show", word))
        assert _said(kit, "pat").startswith(answer), (word, _said(kit, "pat"))
    await kit.bot.handle(cmd("pat", "init", "1.2"))
    assert _said(kit, "pat").startswith("Image #1.2 will be the starting picture")
    await kit.queue.stop()


async def test_from_names_only_the_callers_pictures(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({"test:root"}))
    await kit.queue.start()
    upload = png((96, 64))
    await _ran(kit, cmd("pat", "imagine", f"a fox --seed 3 {SMALL}"))
    await _ran(
        kit, cmd("pat", "img2img", f"a watercolor fox {SMALL}", attachments=(Attachment(upload),))
    )
    made = await store.job_image(1, 0)
    assert made is not None
    for word in ("1", "2.in", "1.in"):
        await kit.bot.handle(cmd("sam", "img2img", f"x --from {word} {SMALL}"))
        assert _said(kit, "sam") == f"There is no image #{word}.", word
    sam = await store.find_user("test", "sam")
    assert sam is not None and (await store.quota(sam.id)).used_today == 0
    await kit.bot.handle(cmd("sam", "img2img", f"x --from cat {SMALL}"))
    assert "--from takes the numbers of your pictures, like 12 or 12.2" in _said(kit, "sam")

    await _ran(kit, cmd("root", "img2img", f"as admin --from 1 {SMALL}"))
    assert (await _newest_job(store, "root")).request.init_image == await store.read_image(made)
    await _ran(kit, cmd("pat", "img2img", f"again --from 2.in {SMALL}"))
    assert (await _newest_job(store, "pat")).request.init_image == upload
    await _ran(kit, cmd("pat", "mix", f"a cat::0.3 | #2::0.7 | #1 --from 2.in,1 {SMALL}"))
    items = (await _newest_job(store, "pat")).request.mix
    assert [item.image for item in items] == [None, await store.read_image(made), upload]
    await kit.bot.handle(cmd("sam", "init", "2.in"))
    assert _said(kit, "sam") == "There is no image #2.in."
    await kit.bot.handle(cmd("pat", "init", "#2.in"))
    assert _said(kit, "pat").startswith("That picture will be the starting picture")
    await _ran(kit, cmd("pat", "img2img", f"from the kept picture {SMALL}"))
    assert (await _newest_job(store, "pat")).request.init_image == upload
    await kit.queue.stop()


def _transparent() -> bytes:
    hole = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    hole.paste((0, 0, 0, 0), (16, 16, 48, 48))
    buffer = io.BytesIO()
    hole.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_the_again_line_makes_the_same_request(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    picture, mask = Attachment(png((96, 64))), Attachment(mask_png())
    commands = [
        cmd("pat", "imagine", f'"a fox --seed 1" in the snow {SMALL}'),
        cmd("pat", "img2img", f"a fox --strength 0.5 --cfg 5.5 {SMALL}", attachments=(picture,)),
        cmd("pat", "inpaint", f"a door {SMALL}", attachments=(picture, mask)),
        cmd("pat", "inpaint", f"a window {SMALL}", attachments=(Attachment(_transparent()),)),
        cmd("pat", "mix", f"a cat::0.25 | #1::0.75 {SMALL}", attachments=(picture,)),
        cmd("pat", "depth", f"a tower --init --strength 0.7 {SMALL}", attachments=(picture,)),
        cmd("pat", "variations", "2"),
        cmd("pat", "imagine", f'--neg "it\'s" --scheduler ddim {SMALL} a "fox'),
    ]
    for command in commands:
        await _ran(kit, command)
    made = [(image.label, image.data) for _, images, _, _ in kit.replier.images for image in images]
    assert [label for label, _ in made] == [str(job) for job in range(1, 9)]
    # The line says everything: the owner's defaults change nothing.
    await kit.bot.handle(cmd("pat", "settings", '--neg "blurry" --steps 3 --size 128x64'))
    for label, data in made:
        await kit.bot.handle(cmd("pat", "show", label))
        again = _said(kit, "pat").rpartition("\nAgain: /")[2]
        name, _, text = again.partition(" ")
        await _ran(kit, cmd("pat", name, text))
        assert kit.replier.images[-1][1][0].data == data, (label, again)
        before = await store.get_job(int(label))
        assert before is not None
        assert (await _newest_job(store, "pat")).request == before.request, (label, again)
    await kit.bot.handle(cmd("pat", "show", "7"))
    assert "Again: /img2img a fox " in _said(kit, "pat")
    assert "--from 2" in _said(kit, "pat"), "named by the stored picture it started from"
    await kit.bot.handle(cmd("pat", "show", "8"))
    assert '--neg "it\'s" --scheduler ddim a "fox' in _said(kit, "pat"), "the prompt last"
    await kit.queue.stop()
