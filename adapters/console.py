"""The console adapter: the whole bot in a terminal.

Lines starting with `/` are commands (`/imagine a lighthouse --seed 1`). A line without one is
a prompt for the command the menu marks as the private-chat default (/imagine) when it has two
words or more; a single word (`clear`, `help`) starts nothing and is answered with a pointer
to /help. A word that names an existing, readable file is attached as a picture (`/img2img
photo.png a watercolor`; in a mix, `photo.png::0.7` becomes `#1::0.7`); a name with spaces is
written in quotes (`"my photo.png"`). A word that looks like a file name (a picture's
extension, a path that starts with `/`, `./`, `../` or `~`, or a folder and a name with an
extension) but names no file we can read is refused with a sentence naming it; any other
word is text, even one too long to be a file name.
Results are saved to a folder (`generation.outputs` names them, as `generate` does) and
their paths printed, with their buttons offered as numbered choices: type the number to press
one of the latest result's buttons. `/quit`, `quit` or the end of input (Ctrl-D) leaves after
the running jobs finish; `interrupt` (Ctrl-C) stops reading at once.
The adapter speaks its own sentences (the banner, refusals of a line) in the language given to
it, from `bot.i18n`; imports `bot.chat`, `bot.i18n` and `generation`'s pure and PIL parts.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO, TypeVar

from bot.chat.adapter import Handle
from bot.chat.command import Attachment, Button, Command, Destination, OutImage
from bot.chat.menu import CommandInfo
from bot.chat.replier import Parts, ProgressRef
from bot.chat.tokens import QUOTES
from bot.i18n.catalogue import text
from generation.outputs import save_pictures

PLATFORM = "console"
QUIT = {"/quit", "/exit", "quit", "exit"}
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"}
_PATH_START = ("./", "../", "~/", ".\\", "..\\")
_QUOTED = "|".join(
    f"{re.escape(opener)}[^{re.escape(closers)}]+[{re.escape(closers)}]"
    for opener, closers in QUOTES.items()
)
# A word: quoted (a name with spaces, perhaps with a mix weight after it), or unbroken.
_WORD = re.compile(rf"(?:{_QUOTED})(?:::\S*)?(?=\s|$)|\S+")
_QUOTED_WORD = re.compile(rf"(?P<name>{_QUOTED})(?P<weight>(?:::\S*)?)")

Idle = Callable[[], Awaitable[None]]
_T = TypeVar("_T")


class Refused(Exception):
    """A typed line the console answers itself, starting nothing; `str()` is the sentence."""


class Interrupted(Exception):
    """Ctrl-C: the console stopped reading."""


async def stdin_lines() -> AsyncIterator[str]:
    """Lines typed on standard input, read on a thread of their own.

    The thread is a daemon: a process that stops (Ctrl-C) does not wait for a line to come.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in iter(sys.stdin.readline, ""):
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: nobody reads any more
                return
        try:
            loop.call_soon_threadsafe(lines.put_nowait, None)
        except RuntimeError:
            return

    threading.Thread(target=read, name="kbot-stdin", daemon=True).start()
    while (line := await lines.get()) is not None:
        yield line


class ConsoleAdapter:
    """Reads commands from lines, prints answers, saves pictures."""

    def __init__(
        self,
        handle: Handle,
        output_dir: Path,
        *,
        commands: Sequence[CommandInfo],
        out: TextIO | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        locale: str | None = None,
        echo: bool = False,
        prompt: str = "",
    ) -> None:
        self.handle = handle
        self.output_dir = output_dir
        self.out = out or sys.stdout
        self.user_id = user_id or getpass.getuser()
        self.user_name = user_name or self.user_id
        self.locale = locale
        self.echo = echo
        self.prompt = prompt  # shown while waiting for a line (an interactive terminal)
        self.choices: dict[int, Button] = {}
        self._messages = 0
        self._names = {name: info.name for info in commands for name in (info.name, *info.aliases)}
        self._default = next((info.name for info in commands if info.private_default), None)
        self._prompting = False
        self._interrupted = asyncio.Event()

    # -- replier -------------------------------------------------------------------------
    def say(self, line: str) -> None:
        """Print a line (over the prompt, which comes back after it)."""
        if self._prompting:
            self.out.write(f"\r\x1b[K{line}\n{self.prompt}")
            self.out.flush()
        else:
            print(line, file=self.out, flush=True)

    def _show_prompt(self) -> None:
        if self.prompt:
            self.out.write(self.prompt)
            self.out.flush()
            self._prompting = True

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        """Print a message."""
        self.say(text)

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Print a progress line (a terminal cannot edit earlier lines reliably)."""
        self.say(text)
        if ref is None:
            self._messages += 1
            ref = {"message": self._messages}
        return ref

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        """Print the last progress line."""
        self.say(text)

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
        """Save the pictures, print their paths, the caption and numbered actions."""
        for path in save_pictures(self.output_dir, [image.data for image in images]):
            self.say(str(path))
        self.say(caption)
        self.choices = dict(enumerate(buttons, start=1))
        labels = {image.image_id: image.label for image in images}
        menu = "  ".join(
            f"[{n}] {button.action} #{labels.get(button.image_id, '')}"
            for n, button in self.choices.items()
        )
        self.say(menu)

    # -- input ---------------------------------------------------------------------------
    def parse(self, line: str) -> Command | None:
        """Turn a typed line into a command (None for an empty line).

        Raises `Refused` for a line that must start nothing: one word that is not a command,
        or a file name that names no file we can read.
        """
        line = line.strip()
        if not line:
            return None
        if line.isdigit() and int(line) in self.choices:
            button = self.choices[int(line)]
            return replace(
                self._command(str(button.action), "", ()), reply_image_id=button.image_id
            )
        if line.startswith("/"):
            name, _, rest = line[1:].partition(" ")
            name = name.split("@")[0]
        else:
            name, rest = self._prompt_command(line), line
        mix = self._names.get(name.lower()) == "mix"  # only a mix numbers its pictures
        words, attachments = [], []
        for word in _WORD.findall(rest):
            attachment, weight = self._attachment(word)
            if attachment is None:
                words.append(word)
                continue
            attachments.append(attachment)
            if mix and weight:
                words.append(f"#{len(attachments)}{weight}")
        text = " ".join(words)
        return self._command(name, text, tuple(attachments))

    def _prompt_command(self, line: str) -> str:
        """The command a line without one is a prompt for; `Refused` for a single word."""
        if self._default is not None and len(line.split()) > 1:
            return self._default
        command = self._names.get(line.lower())
        if command is not None:
            raise Refused(self._t("console_needs_slash", command=command))
        raise Refused(self._t("console_one_word", word=line.split()[0]))

    def _attachment(self, word: str) -> tuple[Attachment | None, str]:
        """The picture `word` names and its mix weight (`::0.7`), or (None, "") for text."""
        quoted = _QUOTED_WORD.fullmatch(word)
        if quoted is not None:
            name, weight = quoted["name"][1:-1], quoted["weight"]
        else:
            name, sep, rest = word.partition("::")
            weight = sep + rest
        attachment = _read_picture(name)
        if isinstance(attachment, Attachment):
            return attachment, weight
        if _looks_like_file(name):
            raise Refused(
                self._t("console_no_file", name=name)
                if attachment is None
                else self._t("console_cannot_read", name=name, reason=attachment)
            )
        return None, ""

    def _command(self, name: str, text: str, attachments: tuple[Attachment, ...]) -> Command:
        return Command(
            platform=PLATFORM,
            user_id=self.user_id,
            user_name=self.user_name,
            chat_id="console",
            name=name,
            text=text,
            attachments=attachments,
            locale=self.locale,
        )

    def _t(self, key: str, **values: object) -> str:
        return text(self.locale, key, **values)

    # -- the session ---------------------------------------------------------------------
    def interrupt(self) -> None:
        """Stop reading lines now (Ctrl-C); `run` raises `Interrupted`."""
        if self._prompting:  # the prompt goes: no more lines are read
            self.out.write("\r\x1b[K")
            self.out.flush()
            self._prompting = False
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        """Whether `interrupt` was called."""
        return self._interrupted.is_set()

    async def _unless_interrupted(self, step: Awaitable[_T]) -> _T:
        """Wait for `step`; cancel it and raise `Interrupted` on Ctrl-C."""
        work = asyncio.ensure_future(step)
        stop = asyncio.ensure_future(self._interrupted.wait())
        try:
            await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise Interrupted
        return work.result()

    async def run(self, lines: AsyncIterator[str], idle: Idle, *, wait_each: bool = False) -> None:
        """Handle every line; at the end (and after each line if asked) wait for the queue.

        Raises `Interrupted` when `interrupt` is called; the command being handled finishes
        first, the queue is not waited for.
        """
        while not self.interrupted:
            self._show_prompt()
            try:
                line = await self._unless_interrupted(anext(lines))
            except StopAsyncIteration:
                break
            finally:
                self._prompting = False
            if line.strip().lower() in QUIT:
                break
            if self.echo:
                self.say(f"> {line.strip()}")
            try:
                command = self.parse(line)
            except Refused as refusal:
                self.say(str(refusal))
                continue
            if command is None:
                continue
            await self.handle(command)
            if self.interrupted:
                raise Interrupted
            if wait_each:
                await self._unless_interrupted(idle())
        if self.interrupted:
            raise Interrupted
        await self._unless_interrupted(idle())


def _read_picture(name: str) -> Attachment | str | None:
    """The file `name` names, read; None when there is no such file, or why it cannot be read.

    Any word may be text: one too long for a file name, naming a folder, a file we may not
    read, or the home of nobody (`~x`) gives the reason (or None), never an exception.
    """
    if not name:
        return None
    try:
        path = Path(name).expanduser()
        if not path.exists():
            return None
        return Attachment(path.read_bytes(), path.name, _content_type(path))
    except OSError as error:
        return error.strerror or str(error)
    except (RuntimeError, ValueError):  # no such home; a NUL in the name
        return None


def _looks_like_file(name: str) -> bool:
    """Whether a word is surely meant as a file: a picture's name, or a path.

    `and/or`, `AC/DC` and `/` are words; `photo.png`, `./photo`, `/tmp/photo`, `~/photo`
    and `in/photo.jpg` are file names.
    """
    path = Path(name)
    if path.suffix.lower() in PICTURE_SUFFIXES and path.stem:
        return True
    if name.startswith(_PATH_START) or (name.startswith("/") and len(name) > 1):
        return True
    if name.startswith("~") and "/" in name:  # someone's home: ~alice/photo
        return True
    return ("/" in name or "\\" in name) and bool(path.suffix) and path.suffix != "."


def _content_type(path: Path) -> str:
    return {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
    }.get(path.suffix.lower(), "application/octet-stream")
