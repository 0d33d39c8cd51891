"""The console adapter: the whole bot in a terminal.

Lines starting with `/` are commands (`/imagine a lighthouse --seed 1`); other lines are
prompts for the command the menu marks as the private-chat default (/imagine). A word that
names an existing, readable file is attached as a picture (`/img2img photo.png a
watercolor`; in a mix, `photo.png::0.7` becomes `#1::0.7`); any other word is text, even one
too long to be a file name.
Results are saved to a folder (`generation.outputs` names them, as `generate` does) and
their paths printed, with their buttons offered as
numbered choices: type the number to press one of the latest result's buttons.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.chat.adapter import Handle
from bot.chat.command import Attachment, Button, Command, Destination, OutImage
from bot.chat.menu import CommandInfo
from bot.chat.replier import ProgressRef
from generation.outputs import save_pictures

PLATFORM = "console"
QUIT = {"/quit", "/exit", "quit", "exit"}

Idle = Callable[[], Awaitable[None]]


async def stdin_lines() -> AsyncIterator[str]:
    """Lines typed on standard input, read off the event loop."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
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
    ) -> None:
        self.handle = handle
        self.output_dir = output_dir
        self.out = out or sys.stdout
        self.user_id = user_id or getpass.getuser()
        self.user_name = user_name or self.user_id
        self.locale = locale
        self.echo = echo
        self.choices: dict[int, Button] = {}
        self._messages = 0
        self._names = {name: info.name for info in commands for name in (info.name, *info.aliases)}
        self._prompt = next((info.name for info in commands if info.private_default), None)

    # -- replier -------------------------------------------------------------------------
    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def send_text(self, destination: Destination, text: str) -> None:
        """Print a message."""
        self._print(text)

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Print a progress line (a terminal cannot edit earlier lines reliably)."""
        self._print(text)
        if ref is None:
            self._messages += 1
            ref = {"message": self._messages}
        return ref

    async def send_images(
        self, destination: Destination, images: list[OutImage], caption: str, buttons: list[Button]
    ) -> None:
        """Save the pictures, print their paths, the caption and numbered actions."""
        for path in save_pictures(self.output_dir, [image.data for image in images]):
            self._print(str(path))
        self._print(caption)
        self.choices = dict(enumerate(buttons, start=1))
        menu = "  ".join(
            f"[{n}] {button.action} #{button.image_id}" for n, button in self.choices.items()
        )
        self._print(menu)

    # -- input ---------------------------------------------------------------------------
    def parse(self, line: str) -> Command | None:
        """Turn a typed line into a command (None for an empty line)."""
        line = line.strip()
        if not line:
            return None
        if line.isdigit() and int(line) in self.choices:
            button = self.choices[int(line)]
            return self._command(str(button.action), str(button.image_id), ())
        if not line.startswith("/"):
            return None if self._prompt is None else self._command(self._prompt, line, ())
        name, _, rest = line[1:].partition(" ")
        name = name.split("@")[0]
        words, attachments = [], []
        for word in rest.split(" "):
            path_part, sep, weight = word.partition("::")
            attachment = _attachment(path_part)
            if attachment is not None:
                attachments.append(attachment)
                words.append(f"#{len(attachments)}{sep}{weight}" if sep else "")
            else:
                words.append(word)
        text = " ".join(word for word in words if word)
        if self._names.get(name.lower()) != "mix":  # only a mix numbers its pictures
            text = " ".join(word for word in text.split(" ") if not _is_ref(word))
        return self._command(name, text, tuple(attachments))

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

    async def run(self, lines: AsyncIterator[str], idle: Idle, *, wait_each: bool = False) -> None:
        """Handle every line; at the end (and after each line if asked) wait for the queue."""
        async for line in lines:
            if line.strip().lower() in QUIT:
                break
            if self.echo:
                self._print(f"> {line.strip()}")
            command = self.parse(line)
            if command is None:
                continue
            await self.handle(command)
            if wait_each:
                await idle()
        await idle()


def _attachment(word: str) -> Attachment | None:
    """The file `word` names, read; None when it names no file we can read.

    Any word may be text: one too long for a file name, or naming a folder, a file we may
    not read, or the home of nobody (`~x`), is simply not a file.
    """
    if not word:
        return None
    try:
        path = Path(word).expanduser()
        if not path.is_file():
            return None
        return Attachment(path.read_bytes(), path.name, _content_type(path))
    except (OSError, RuntimeError, ValueError):
        return None


def _is_ref(word: str) -> bool:
    return word.startswith("#") and word[1:].isdigit()


def _content_type(path: Path) -> str:
    return {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
    }.get(path.suffix.lower(), "application/octet-stream")
