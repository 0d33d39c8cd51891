"""Runs the bot with the console adapter (the `chat` command and the demo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from adapters.console import PLATFORM, ConsoleAdapter, stdin_lines
from bot.app.root import command_menu, running_bot
from bot.app.settings import Settings


async def run_console(
    settings: Settings,
    output: Path,
    *,
    lines: AsyncIterator[str] | None = None,
    out: TextIO | None = None,
    user: str | None = None,
    lang: str | None = None,
    echo: bool = False,
    wait_each: bool = False,
) -> None:
    """Talk to the whole bot (queue, storage, generation) through the console adapter."""
    async with running_bot(settings) as app:
        console = ConsoleAdapter(
            app.bot.handle,
            output,
            commands=command_menu(),
            out=out,
            user_id=user,
            locale=lang,
            echo=echo,
        )
        app.repliers[PLATFORM] = console
        await app.queue.start()
        await console.run(lines or stdin_lines(), app.idle, wait_each=wait_each)
