"""Runs the bot with the console adapter (the `chat` command and the demo).

At start the console prints a banner: that it is ready, the defaults a plain prompt gets,
where pictures and the database go, and how to leave. Where this process generates on a CPU
only, the defaults are a small size and few steps (`CPU_SIZE`, `CPU_STEPS`), so a picture
takes seconds; options, /settings and `KBOT_DEFAULT_STEPS` still win, and so does a
`KBOT_DEFAULT_SIZE` below `CPU_SIZE`. Ctrl-C cancels the console's waiting and running jobs
(a running one stops at its next step) and returns `Stopped.INTERRUPTED`; a second Ctrl-C
leaves at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TextIO

from adapters.console import PLATFORM, ConsoleAdapter, Interrupted, stdin_lines
from bot.app.root import App, build_families, command_menu, running_bot
from bot.app.settings import Settings
from bot.i18n.catalogue import text
from generation.version import bot_version
from storage.records import ACTIVE, JobStatus

CPU_SIZE = 256  # the default side where only a CPU generates
CPU_STEPS = 10  # and the default step count there
EXIT_AT_ONCE = 130  # a second Ctrl-C: the exit code shells give a process SIGINT ended


class Stopped(enum.Enum):
    """How a console session ended."""

    FINISHED = "finished"  # /quit, or the end of input, after the jobs finished
    INTERRUPTED = "interrupted"  # Ctrl-C: the jobs were cancelled


def generates_on_cpu(settings: Settings) -> bool:
    """Whether this process generates (the embedded queue) and only on the CPU."""
    if settings.queue != "local":
        return False  # workers generate, on devices of their own
    if all(device.startswith("cpu") for device in settings.device):
        return True
    from generation.engine.cache import EngineOptions

    return all(EngineOptions(device).resolved_device().type == "cpu" for device in settings.device)


def console_settings(settings: Settings, *, cpu: bool) -> Settings:
    """`settings` with, on a CPU, a small default size and few default steps."""
    if not cpu:
        return settings
    steps = settings.default_steps if settings.default_steps is not None else CPU_STEPS
    return dataclasses.replace(
        settings, default_size=min(settings.default_size, CPU_SIZE), default_steps=steps
    )


def banner(settings: Settings, output: Path, lang: str | None, *, cpu: bool) -> list[str]:
    """The lines the console opens with: ready, the defaults, where things go, how to leave."""
    spec = build_families(settings).get(settings.default_model)
    width, height = spec.size_rule.default_size(settings.default_size, settings.default_size)
    steps = settings.default_steps if settings.default_steps is not None else spec.steps
    data = f"{settings.data_dir}{os.sep}"
    if settings.database_url:
        data += " (+ KBOT_DATABASE_URL)"
    return [
        text(lang, "console_ready", version=bot_version()),
        text(
            lang,
            "console_defaults_cpu" if cpu else "console_defaults",
            model=spec.title,
            size=f"{width}x{height}",
            steps=steps,
        ),
        text(lang, "console_places", pictures=f"{output}{os.sep}", data=data),
        text(lang, "console_help"),
    ]


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
    greet: bool = True,
) -> Stopped:
    """Talk to the whole bot (queue, storage, generation) through the console adapter.

    With `greet`, open with the banner. Typed lines come from standard input unless `lines`
    are given; a prompt is shown where both standard input and `out` are terminals.
    """
    cpu = generates_on_cpu(settings)
    settings = console_settings(settings, cpu=cpu)
    shown = out or sys.stdout
    ctrl_c = _CtrlC(shown, lang)
    with ctrl_c.handled():
        async with running_bot(settings) as app:
            console = ConsoleAdapter(
                app.bot.handle,
                output,
                commands=command_menu(),
                out=shown,
                user_id=user,
                locale=lang,
                echo=echo,
                prompt="> " if lines is None and sys.stdin.isatty() and shown.isatty() else "",
            )
            ctrl_c.console = console
            app.repliers[PLATFORM] = console
            if greet:
                for line in banner(settings, output, lang, cpu=cpu):
                    console.say(line)
            await app.queue.start()
            if app.engine is not None:
                app.engine.start()  # import and set up the engine while a line is typed
            try:
                await console.run(lines or stdin_lines(), app.idle, wait_each=wait_each)
            except Interrupted:
                await _cancel_jobs(app, console)
                await app.idle()  # a running job stops at its next step
                return Stopped.INTERRUPTED
    return Stopped.FINISHED


class _CtrlC:
    """Ctrl-C interrupts the console (once it is there); a second one leaves at once.

    Where the event loop cannot take signals (not the main thread), Ctrl-C stays Python's
    KeyboardInterrupt.
    """

    def __init__(self, out: TextIO, lang: str | None) -> None:
        self.out = out
        self.lang = lang
        self.pressed = False
        self._console: ConsoleAdapter | None = None

    @property
    def console(self) -> ConsoleAdapter | None:
        """The console Ctrl-C interrupts."""
        return self._console

    @console.setter
    def console(self, console: ConsoleAdapter) -> None:
        self._console = console
        if self.pressed:
            console.interrupt()

    def __call__(self) -> None:
        if self.pressed:
            self.out.flush()
            sys.stderr.flush()
            os._exit(EXIT_AT_ONCE)
        self.pressed = True
        stopping = text(self.lang, "console_stopping")
        if self._console is None:
            print(stopping, file=self.out, flush=True)
        else:
            self._console.interrupt()
            self._console.say(stopping)

    @contextlib.contextmanager
    def handled(self) -> Iterator[None]:
        """Take Ctrl-C while in the block."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self)
        except (NotImplementedError, RuntimeError, ValueError):
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)


async def _cancel_jobs(app: App, console: ConsoleAdapter) -> None:
    """Cancel every job of the console's users that is waiting or running (refunded)."""
    for job in await app.store.jobs(ACTIVE):
        if job.destination.get("platform") != PLATFORM:
            continue
        if await app.queue.cancel(job.id) and job.status is JobStatus.QUEUED:
            console.say(text(console.locale, "cancelled", job=job.id))
