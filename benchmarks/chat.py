"""The bot as `bench_bot` drives it: `kandinsky-bot run`, a real process, with its Telegram a
fake Bot API on 127.0.0.1 (the test suite's `tests.fake_telegram`); users' `/imagine`, the
photos that answer them, and the bot's spans (its log).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bot.jobs.spans import read_spans
from generation.families import DEFAULT_FAMILIES
from generation.request import GenerationRequest
from tests.fake_telegram import Call, FakeTelegram, User
from tests.helpers import stop_process

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-TOKEN-abcdef"
RESULT = "sendPhoto"
WITHIN = 300.0
QUEUED = re.compile(r"job #(\d+)")
SETTLE = 0.2
"""Seconds the bot is left alone after its last message about a job."""


@dataclass(frozen=True, slots=True)
class Request:
    """One `/imagine` of the benchmark: its family, size, steps and seed."""

    family: str
    size: int
    steps: int | None
    """Decoder steps; None: the family's default (so are the prior's then)."""
    prior_steps: int | None
    seed: int
    prompt: str = "a lighthouse at dusk"

    def _steps(self) -> dict[str, int]:
        steps = {} if self.steps is None else {"steps": self.steps}
        if self.prior_steps is not None and DEFAULT_FAMILIES.get(self.family).has_prior:
            steps["prior_steps"] = self.prior_steps
        return steps

    def generation(self) -> GenerationRequest:
        """The same request for the direct side."""
        return GenerationRequest(
            prompt=self.prompt,
            model=self.family,
            width=self.size,
            height=self.size,
            seed=self.seed,
            **self._steps(),
        )

    def command(self) -> str:
        given = self._steps().items()
        steps = "".join(f" --{key.replace('_', '-')} {value}" for key, value in given)
        return (
            f"/imagine {self.prompt} --model {self.family} --size {self.size}x{self.size}"
            f"{steps} --seed {self.seed}"
        )


@dataclass(slots=True)
class Sent:
    """A request the benchmark sent: when, from whom, and what came back."""

    user: User
    message_id: int
    at: float
    photo: Call | None = None

    @property
    def where(self) -> tuple[int, int]:
        """The chat and the message an answer to it replies to."""
        return self.user.id, self.message_id


@dataclass
class Bot:
    """A running `kandinsky-bot run` and the fake Telegram it talks to."""

    fake: FakeTelegram
    process: asyncio.subprocess.Process
    log: Path
    started: float
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def heard(self, call: Call) -> None:
        self._changed.set()

    async def until(self, found: Callable[[], Any], what: str) -> Any:
        """Wait (woken by each call the fake records) until `found()` is truthy."""
        deadline = time.monotonic() + WITHIN
        while not (value := found()):
            if self.process.returncode is not None:
                raise RuntimeError(f"the bot stopped: {self.log.read_text()[-3000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waited {WITHIN:.0f} s for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
        return value

    def send(self, user: User, text: str) -> Sent:
        at = time.monotonic()
        return Sent(user, self.fake.text(user.id, user, text), at)

    def photo(self, sent: Sent) -> Call | None:
        for call in self.fake.calls:
            if call.method == RESULT and (call.chat_id, call.reply_to) == sent.where:
                return call
        return None

    async def answer(self, sent: Sent) -> Sent:
        sent.photo = await self.until(lambda: self.photo(sent), f"the photo of {sent}")
        return sent

    async def settle(self, sent: Sequence[Sent]) -> None:
        """Wait until the bot is done with these jobs (their status messages say so, which
        comes after the photos) and a moment more, so what it does last does not slow what
        is measured next."""

        def done(one: Sent) -> bool:
            return any(
                call.method == "editMessageText"
                and call.chat_id == one.user.id
                and str(call.params.get("text")).endswith(" is done.")
                and call.at >= one.at
                for call in self.fake.calls
            )

        await self.until(lambda: all(done(one) for one in sent), "the jobs' last status")
        await asyncio.sleep(SETTLE)

    async def spans(self, jobs: Sequence[int]) -> dict[int, dict[str, float]]:
        """The marks of `jobs` from the bot's log (each written once its photo is out)."""

        def logged() -> dict[int, dict[str, float]] | None:
            found = read_spans(self.log.read_text(errors="replace"))
            return found if all(job in found for job in jobs) else None

        found: dict[int, dict[str, float]] = await self.until(logged, "the spans of the jobs")
        return found

    def job_id(self, sent: Sent) -> int | None:
        for call in self.fake.find("sendMessage", chat_id=sent.user.id):
            if call.reply_to == sent.message_id:
                found = QUEUED.search(str(call.params.get("text")))
                if found:
                    return int(found.group(1))
        return None


def tiny_classifier(registry: Path) -> Path:
    """The tiny image classifier beside the tiny models (built once), for the content filter."""
    folder = registry.parent / "safety-classifier"
    if not (folder / "config.json").is_file():
        from generation.engine.tiny_classifier import build_tiny_classifier

        build_tiny_classifier(folder)
    return folder


def bot_environment(registry: Path, data: Path, base_url: str) -> dict[str, str]:
    """The bot's settings: the tiny models on the CPU, a fresh database, defaults otherwise
    (the daily quota raised: the benchmark's users ask for many pictures; the content filter
    on, prompts and pictures, the pictures by the tiny classifier, whose time the `checked`
    stage shows); torch with as many threads as the direct side has (the same pixels take the
    same sums)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KBOT_")}
    return {
        "KBOT_SAFETY": "both",
        "KBOT_SAFETY_MODEL": str(tiny_classifier(registry)),
        **env,
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
        "KBOT_TELEGRAM_TOKEN": TOKEN,
        "KBOT_TELEGRAM_BASE_URL": base_url,
        "KBOT_DATA_DIR": str(data),
        "KBOT_MODELS": str(registry),
        "KBOT_DEVICE": "cpu",
        "KBOT_DAILY_LIMIT": "1000000",
        "PYTHONPATH": str(ROOT),
    }


@asynccontextmanager
async def running_bot(
    registry: Path, scratch: Path, *, verbose: bool, data: Path | None = None
) -> AsyncIterator[Bot]:
    """`kandinsky-bot run` against a new fake Telegram (on `data`, else a new folder);
    stopped with SIGTERM afterwards."""
    data = data or Path(tempfile.mkdtemp(prefix="bot-", dir=scratch))
    async with FakeTelegram(TOKEN) as fake:
        log = data / "bot.log"
        flags = ["-v"] if verbose else []
        with log.open("wb") as out:
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *flags,
                "run",
                stdout=out,
                stderr=out,
                env=bot_environment(registry, data / "data", fake.base_url),
                cwd=ROOT,
            )
        bot = Bot(fake, process, log, started)
        fake.on_call = bot.heard
        try:
            yield bot
        finally:
            await stop_process(process)
