"""Every user and admin command end to end through the console adapter on tiny models."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from adapters.console import ConsoleAdapter, Refused
from bot.app.console import run_console
from bot.app.root import command_menu
from bot.app.settings import Settings
from bot.chat.command import Command
from tests.helpers import mask_png, png

SMALL = "--size 64x64 --steps 2 --prior-steps 2"


async def _lines(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


def chat(settings: Settings, out_dir: Path, lines: list[str], user: str) -> str:
    out = io.StringIO()
    asyncio.run(
        run_console(
            settings, out_dir, lines=_lines(lines), out=out, user=user, echo=True, wait_each=True
        )
    )
    return out.getvalue()


def answers(transcript: str) -> dict[str, str]:
    """Map each typed command to what the bot printed after it."""
    result: dict[str, str] = {}
    for block in transcript.split("> ")[1:]:
        command, _, answer = block.partition("\n")
        result[command] = result.get(command, "") + answer
    return result


@pytest.fixture
def world(tiny_settings: Settings, tmp_path: Path) -> tuple[Settings, Path]:
    settings = dataclasses.replace(
        tiny_settings,
        data_dir=tmp_path / "data",
        admins=frozenset({"console:root"}),
        progress_interval=0.0,
    )
    pictures = tmp_path / "in"
    pictures.mkdir()
    (pictures / "photo.png").write_bytes(png((96, 64)))
    (pictures / "mask.png").write_bytes(mask_png())
    hole = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    hole.paste((0, 0, 0, 0), (16, 16, 48, 48))
    buffer = io.BytesIO()
    hole.save(buffer, format="PNG")
    (pictures / "hole.png").write_bytes(buffer.getvalue())
    (pictures / "notes.png").write_bytes(b"not a picture at all")
    return settings, pictures


def test_every_user_command(world: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, p = world
    lines = [
        "/help",
        "/help imagine",
        f"/imagine a fox in the snow --seed 1 {SMALL}",
        f"/img2img {p}/photo.png a watercolor fox --strength 0.5 {SMALL}",
        f"/inpaint {p}/photo.png {p}/mask.png a red door {SMALL}",
        f"/inpaint {p}/hole.png a window {SMALL}",
        f"/mix a cat::0.3 | {p}/photo.png::0.7 {SMALL}",
        f"/depth {p}/photo.png a stone tower {SMALL}",
        f"/depth {p}/photo.png a glass tower --init --strength 0.5 {SMALL}",
        "1",
        "3",
        "/reroll 1",
        "/variations 1",
        "/init 1",
        f"/img2img a painting --strength 0.5 {SMALL}",
        "/history",
        "/history 2",
        "/show 1",
        "/settings",
        "/settings --model 3 --size 128x64 --steps 3",
        "a plain prompt is an imagine",
        "/settings reset",
        "/quota",
        "/queue",
        "/cancel",
        "/language ru",
        "/quota",
        "/language en",
        f"/img2img {p}/notes.png a fox",
        f"/inpaint {p}/photo.png a door {SMALL}",
        f"/imagine --model 3 a fox --sed 4 {SMALL}",
        "/imagin a fox",
        "/admin stats",
    ]
    transcript = chat(settings, tmp_path / "out", lines, user="alice")
    said = answers(transcript)
    assert "I draw pictures with Kandinsky" in said["/help"]
    assert "--model 2.1|2.2|3|5|5v --size" in said["/help"]
    assert "/imagine a lighthouse at dusk --ar 16:9" in said["/help imagine"]
    made = {line: said[line] for line in lines if "Job #" in said.get(line, "")}
    assert len(made) == 13, transcript
    for line, answer in made.items():
        assert re.search(r"Job #\d+ is done\.", answer), (line, answer)
        assert re.search(r"\.png\n", answer), (line, answer)
    assert "variations" in said["1"] and "seed" in said["3"]
    assert "Image #1 will be the starting picture" in said["/init 1"]
    assert "Your images, page 1 of 2:" in said["/history"]
    assert "page 2 of 2" in said["/history 2"]
    assert "Image #1: text2img, Kandinsky 2.2, 64x64, seed 1" in said["/show 1"]
    assert "Again: /imagine a fox in the snow --model 2.2" in said["/show 1"]
    assert "model 3, size 128x64, steps 3" in said["/settings --model 3 --size 128x64 --steps 3"]
    assert "Kandinsky 3" in said["a plain prompt is an imagine"]
    assert "Saved." in said["/settings reset"]
    assert "Today you have used 13 of 50 images" in said["/quota"]
    assert "You have no jobs in the queue." in said["/queue"]
    assert "You have no waiting job to cancel." in said["/cancel"]
    assert re.search("[А-Яа-я]", said["/language ru"]), "answers in Russian after /language ru"
    assert "I will speak English with you." in said["/language en"]
    assert "not a PNG, JPEG or WebP" in said[f"/img2img {p}/notes.png a fox"]
    assert "Please attach a mask" in said[f"/inpaint {p}/photo.png a door {SMALL}"]
    assert (
        "unknown option --sed; did you mean --seed?"
        in said[f"/imagine --model 3 a fox --sed 4 {SMALL}"]
    )
    assert "Did you mean /imagine?" in said["/imagin a fox"]
    assert "Only admins can do that." in said["/admin stats"]
    assert "Traceback" not in transcript
    assert len(list((tmp_path / "out").glob("*.png"))) == 13


def test_words_that_cannot_be_file_names_are_text(
    world: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, p = world
    long = "x" * 300  # past the 255 bytes a file name may have
    lines = [
        f"/imagine {long} --seed 2 {SMALL}",
        f"/img2img and/or AC/DC {p}/photo.png a fox --strength 0.5 {SMALL}",
        f"{long} plain",
        f"/img2img ~nobody-has-this-home/a.png {p}/photo.png a fox --strength 0.5 {SMALL}",
        f"/imagine {long}.png {SMALL}",
        f"/imagine {p} in a frame {SMALL}",
        "/show 1",
        "/show 2",
        "/quota",
    ]
    transcript = chat(settings, tmp_path / "out", lines, user="tess")
    said = answers(transcript)
    assert re.search(r"Job #\d+ is done\.", said[lines[0]]), transcript
    assert re.search(r"Job #\d+ is done\.", said[lines[1]]), transcript
    assert re.search(r"Job #\d+ is done\.", said[lines[2]]), transcript
    # A word that is surely a file name but names no file we can read starts nothing.
    assert said[lines[3]] == (
        "There is no file ~nobody-has-this-home/a.png. Check the name; a name with spaces "
        'goes in quotes: "my photo.png".\n'
    )
    assert said[lines[4]].startswith(f"I cannot read the file {long}.png: File name too long.")
    assert said[lines[5]] == f"I cannot read the file {p}: Is a directory.\n"
    assert f"Prompt: {long}\n" in said["/show 1"]
    assert "Prompt: and/or AC/DC a fox\n" in said["/show 2"]
    assert "Today you have used 3 of 50" in said["/quota"]  # and the console still answers
    assert len(list((tmp_path / "out").glob("*.png"))) == 3
    assert "Traceback" not in transcript


def test_every_admin_command(world: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, _ = world
    chat(settings, tmp_path / "out", [f"/imagine a fox {SMALL}"], user="bob")
    lines = [
        "/admin",
        "/admin ban console:bob spamming",
        "/admin unban console:bob",
        "/admin quota set console:bob 3",
        "/admin quota grant console:bob 2",
        "/admin quota reset console:bob",
        "/admin quota set console:nobody 3",
        "/admin stats",
        "/admin queue",
        "/admin cancel 999",
        "/admin pause back at noon",
        f"/imagine a fox {SMALL}",
        "/admin resume",
        "/admin models",
        "/admin preload 3",
        "/admin models",
        "/admin unload 3",
        "/admin audit",
    ]
    said = answers(chat(settings, tmp_path / "out", lines, user="root"))
    assert "Admin commands:" in said["/admin"]
    assert "is banned: spamming" in said["/admin ban console:bob spamming"]
    assert "no longer banned" in said["/admin unban console:bob"]
    assert "1 of 3 used today, 0 extra credits" in said["/admin quota set console:bob 3"]
    assert "2 extra credits" in said["/admin quota grant console:bob 2"]
    assert "0 of 3 used today" in said["/admin quota reset console:bob"]
    assert "I don't know the user console:nobody" in said["/admin quota set console:nobody 3"]
    assert "Users: 2. Jobs: done 1. Images today: 1." in said["/admin stats"]
    assert "The queue is empty." in said["/admin queue"]
    assert "There is no job #999." in said["/admin cancel 999"]
    assert "back at noon" in said[f"/imagine a fox {SMALL}"]
    assert "Intake resumed." in said["/admin resume"]
    # The embedded queue generates in this process: the answers name it and what it holds.
    me = f"{socket.gethostname()}:{os.getpid()}:cpu"
    listed = said["/admin models"]  # before and after the preload
    assert f"{me} (cpu), serves 2.1, 2.2, 3, 5, 5v: nothing" in listed
    assert f"{me} (cpu), serves 2.1, 2.2, 3, 5, 5v: 3/text2img" in listed
    assert "Available: 2.1, 2.2, 3, 5, 5v." in listed
    assert f"{me}: Kandinsky 3 is loaded; it holds 3/text2img." in said["/admin preload 3"]
    assert f"{me}: unloaded 1 pipelines; it holds nothing." in said["/admin unload 3"]
    audit = said["/admin audit"]
    assert "console:root · ban console:bob spamming" in audit and "done" in audit
    ban_session = chat(settings, tmp_path / "out", ["/admin ban console:bob x"], user="bob")
    assert "Only admins can do that." in ban_session
    said = answers(chat(settings, tmp_path / "out", ["/admin audit 50"], user="root"))
    assert "console:bob · ban console:bob x · refused" in said["/admin audit 50"]


def test_console_parses_files_and_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(png())
    spaced = tmp_path / "my photo.png"
    spaced.write_bytes(png((96, 64)))
    monkeypatch.chdir(tmp_path)

    async def handle(command: object) -> None:
        return None

    console = ConsoleAdapter(handle, tmp_path, commands=command_menu(), user_id="u")  # type: ignore[arg-type]
    command = console.parse(f"/mix a cat::0.3 | {picture}::0.7")
    assert command is not None
    assert command.name == "mix" and command.text == "a cat::0.3 | #1::0.7"
    assert command.attachments[0].data == picture.read_bytes()
    command = console.parse(f"/img2img {picture} a watercolor")
    assert command is not None and command.text == "a watercolor" and len(command.attachments) == 1
    plain = console.parse("just words")
    assert plain is not None and plain.name == "imagine" and plain.text == "just words"
    blend = console.parse(f"/blend a cat | {picture}::1")  # /mix by its alias
    assert blend is not None and blend.text == "a cat | #1::1" and len(blend.attachments) == 1
    assert console.parse("   ") is None
    # A name with spaces, in any of the grammar's quotes, even with a mix weight after it.
    for quoted in ('"my photo.png"', "'my photo.png'", "“my photo.png”", f"'{spaced}'"):
        command = console.parse(f"/img2img {quoted} a watercolor --neg 'dull, flat'")
        assert command is not None and command.text == "a watercolor --neg 'dull, flat'"
        assert [a.data for a in command.attachments] == [spaced.read_bytes()], quoted
    mixed = console.parse("/mix a cat::0.3 | 'my photo.png'::0.7")
    assert mixed is not None and mixed.text == "a cat::0.3 | #1::0.7"
    # A picture's number stays: `/show #12`, `/edit #12.2 make it night`.
    for line, text in [("/show #12", "#12"), ("/edit #12.2 make it night", "#12.2 make it night")]:
        numbered = console.parse(line)
        assert numbered is not None and numbered.text == text, line
    quoted_text = console.parse('/imagine "a red fox" in the snow')
    assert quoted_text is not None and quoted_text.text == '"a red fox" in the snow'
    # One word without a command, or a file name that names nothing, starts nothing.
    refusals = {
        "clear": "“clear” is not a command, and one word is too short for a prompt. "
        "Type /help for the commands, or /imagine clear to draw it.",
        "History": "Commands start with a slash: /history. Type /help for all of them.",
        "blend": "Commands start with a slash: /mix. Type /help for all of them.",
        "7": "“7” is not a command, and one word is too short for a prompt. "
        "Type /help for the commands, or /imagine 7 to draw it.",
        "/img2img 'my fото.png' a fox": "There is no file my fото.png. Check the name; a name "
        'with spaces goes in quotes: "my photo.png".',
        "a fox in photos/gone.webp": "There is no file photos/gone.webp. Check the name; a "
        'name with spaces goes in quotes: "my photo.png".',
    }
    for line, sentence in refusals.items():
        with pytest.raises(Refused) as refused:
            console.parse(line)
        assert str(refused.value) == sentence, line


def test_the_prompt_stays_below_what_arrives_while_it_waits(tmp_path: Path) -> None:
    said: list[str] = []

    async def handle(command: Command) -> None:
        said.append(command.text)

    out = io.StringIO()
    console = ConsoleAdapter(handle, tmp_path, commands=command_menu(), out=out, prompt="> ")

    async def lines() -> AsyncIterator[str]:
        yield "a fox in the snow\n"
        console.say("Job #1 is done.")  # a job's message while the prompt waits
        yield "/quit\n"

    async def idle() -> None:
        return None

    asyncio.run(console.run(lines(), idle))
    assert said == ["a fox in the snow"]
    assert out.getvalue() == "> > \r\x1b[KJob #1 is done.\n> "
