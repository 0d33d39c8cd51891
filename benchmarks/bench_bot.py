"""The whole bot against direct diffusers calls, on the tiny models: prints figures, asserts
nothing.

The bot is `kandinsky-bot run`, a real process, its Telegram a fake Bot API on 127.0.0.1
(the test suite's `tests.fake_telegram`); the direct side calls the diffusers pipelines, built
with `from_pretrained` from the same checkpoints, in this process, warm, with the values the
engine gives them. Rounds interleave (bot, direct, bot, ...) and every figure is a median, so
a busy machine moves both sides alike.

- (a) `/imagine` update sent -> photo received, over the direct call of the same request
  (per family);
- (b) `--users` users' `/imagine` sent at once, against the same sent one after another;
- (c) `kandinsky-bot run` started -> its first `getUpdates`;
- (d) process started -> first image written, with `kandinsky-bot generate`;
- the stages of one job of (a), from the bot's own spans (its log), against its end-to-end
  time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PTB_TIMEDELTA", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chat import ROOT, Bot, Request, Sent, bot_environment, running_bot
from benchmarks.direct import Direct
from bot.app.demo import TINY_DIR, ensure_tiny_models
from bot.app.root import quiet_libraries
from bot.jobs.spans import STAGES
from tests.fake_telegram import User

STAGE_NAMES = {
    "received": "update received",
    "validated": "validated",
    "stored": "stored",
    "started": "started",
    "made": "pipeline done",
    "checked": "image check",
    "encoded": "encoded",
    "recorded": "recorded",
    "sent": "photo sent",
}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def same_pixels(png: bytes, image: Any) -> bool:
    from PIL import Image

    return bool(Image.open(io.BytesIO(png)).convert("RGB").tobytes() == image.tobytes())


# -- the figures -------------------------------------------------------------------------------
async def start_up(registry: Path, scratch: Path, rounds: int) -> tuple[float, float]:
    """(c): seconds from starting `kandinsky-bot run` to its first `getUpdates`: the first
    start (its database made), and the median of restarts on that database."""
    data = Path(tempfile.mkdtemp(prefix="start-", dir=scratch))
    times = []
    for _ in range(rounds + 1):
        async with running_bot(registry, scratch, verbose=False, data=data) as bot:
            first = await bot.until(lambda: bot.fake.find("getUpdates"), "the first getUpdates")
            times.append(first[0].at - bot.started)
    return times[0], median(times[1:])


def first_image(registry: Path, scratch: Path, rounds: int, size: int) -> float:
    """(d): seconds from starting `kandinsky-bot generate` (tiny 2.2) to its image written
    (it prints the file's name then), median."""
    times = []
    for number in range(rounds):
        out = scratch / f"first-{number}.png"
        env = {**bot_environment(registry, scratch / "generate", ""), "PYTHONUNBUFFERED": "1"}
        options = ["--size", f"{size}x{size}", "--steps", "2", "--prior-steps", "2"]
        command = [sys.executable, "-m", "bot", "generate", "a lighthouse", *options]
        started = time.monotonic()
        with subprocess.Popen(
            [*command, "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            text=True,
        ) as process:
            assert process.stdout is not None
            written = process.stdout.readline()
            times.append(time.monotonic() - started)
        if process.returncode != 0 or written.strip() != str(out):
            raise RuntimeError(f"kandinsky-bot generate failed ({process.returncode})")
    return median(times)


@dataclass(slots=True)
class Overhead:
    """(a) for one family: the medians (and of encoding the direct side's picture as a PNG,
    which the bot sends), and whether both sides made the same pixels."""

    family: str
    bot: float
    direct: float
    encode: float
    same: bool
    last: Sent


async def overhead(bot: Bot, direct: Direct, request: Request, rounds: int, user: User) -> Overhead:
    """(a): the bot's update -> photo against the direct call, interleaved, medians."""
    await bot.settle([await bot.answer(bot.send(user, request.command()))])  # loads the family
    await asyncio.to_thread(direct.run, [request.generation()])
    bots, directs, encodes, same = [], [], [], True
    sent: Sent | None = None
    for number in range(rounds):
        this = dataclasses.replace(request, seed=request.seed + number)
        sent = await bot.answer(bot.send(user, this.command()))
        assert sent.photo is not None
        bots.append(sent.photo.at - sent.at)
        await bot.settle([sent])
        began = time.monotonic()
        (image,) = await asyncio.to_thread(direct.run, [this.generation()])
        directs.append(time.monotonic() - began)
        began = time.monotonic()
        image.save(io.BytesIO(), format="PNG")
        encodes.append(time.monotonic() - began)
        same = same and same_pixels(sent.photo.files["photo"], image)
    assert sent is not None
    return Overhead(request.family, median(bots), median(directs), median(encodes), same, sent)


async def batching(bot: Bot, direct: Direct, request: Request, users: int, rounds: int) -> Batching:
    """(b): `users` requests at once against one after another through the bot, medians;
    and the engine's own ratio (direct: one call of all against one call each)."""
    people = [User(5000 + n, f"User{n}", f"user{n}") for n in range(users)]
    requests = [dataclasses.replace(request, seed=n) for n in range(users)]
    await bot.settle([await bot.answer(bot.send(people[0], requests[0].command()))])  # warm
    together, apart, calls = [], [], []
    for _ in range(rounds):
        sent = [bot.send(person, r.command()) for person, r in zip(people, requests, strict=True)]
        done = [await bot.answer(one) for one in sent]
        together.append(max(one.photo.at for one in done if one.photo) - sent[0].at)
        calls.append(await pipeline_calls(bot, done))
        await bot.settle(done)
        began = time.monotonic()
        one_by_one = []
        for person, r in zip(people, requests, strict=True):
            one_by_one.append(await bot.answer(bot.send(person, r.command())))
        apart.append(time.monotonic() - began)
        await bot.settle(one_by_one)
    made = [r.generation() for r in requests]
    await asyncio.to_thread(direct.run, made)
    singles, batched = [], []
    for _ in range(rounds):
        began = time.monotonic()
        for r in made:
            await asyncio.to_thread(direct.run, [r])
        singles.append(time.monotonic() - began)
        began = time.monotonic()
        await asyncio.to_thread(direct.run, made)
        batched.append(time.monotonic() - began)
    return Batching(median(together), median(apart), median(singles) / median(batched), calls)


@dataclass(frozen=True, slots=True)
class Batching:
    """(b): the medians at once and one after another, the engine's own ratio, and how many
    pipeline calls the requests sent at once took in each round."""

    together: float
    apart: float
    engine: float
    calls: list[int]


async def pipeline_calls(bot: Bot, sent: Sequence[Sent]) -> int:
    """How many pipeline calls made the jobs of `sent` (a call's jobs share its `made`)."""
    jobs = [job for one in sent if (job := bot.job_id(one)) is not None]
    spans = await bot.spans(jobs)
    return len({spans[job]["made"] for job in jobs})


async def breakdown(bot: Bot, sent: Sent) -> tuple[list[tuple[str, float]], float, float]:
    """The stages of the job `sent` made, from the bot's spans: (name, seconds) each, the job's
    end-to-end time as the fake Telegram saw it, and how much later the bot heard that its
    photo was taken (the fake's answer on its way back, which its own `sent` mark includes).

    The stages are the bot's marks but for the end of the last, which is the moment the photo
    reached the platform, so they cover the end-to-end time exactly when every mark falls in
    order between the update sent and the photo received (asserted here)."""
    job = bot.job_id(sent)
    assert job is not None and sent.photo is not None, "the job and its photo"
    spans = (await bot.spans([job]))[job]
    ends = [spans[stage] for stage in STAGES[:-1]] + [sent.photo.at]
    marks = [sent.at, *ends]
    assert marks == sorted(marks), f"marks out of order: {dict(zip(STAGES, ends, strict=True))}"
    stages = [
        (STAGE_NAMES[stage], end - start)
        for stage, start, end in zip(STAGES, marks[:-1], ends, strict=True)
    ]
    return stages, sent.photo.at - sent.at, spans[STAGES[-1]] - sent.photo.at


# -- the run -----------------------------------------------------------------------------------
def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default="2.2,2.1,3", help="families of (a), 2.2 first")
    parser.add_argument("--size", type=int, default=512, help="picture side of (a)")
    parser.add_argument("--steps", type=int, default=4, help="decoder steps of (a)")
    parser.add_argument("--prior-steps", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of (a)")
    parser.add_argument("--users", type=int, default=8, help="users of (b)")
    parser.add_argument("--batch-size", type=int, default=64, help="picture side of (b)")
    parser.add_argument(
        "--batch-steps", type=int, help="decoder and prior steps of (b) (the family's default)"
    )
    parser.add_argument("--other-rounds", type=int, default=3, help="rounds of (b), (c), (d)")
    parser.add_argument("--figures", default="a,b,c,d", help="which figures to measure")
    return parser.parse_args(argv)


def row(figure: str, bot: float, other: float | None, ratio: str, goal: str) -> str:
    shown = "" if other is None else f"{other:.3f} s"
    return f"| {figure} | {bot:.3f} s | {shown} | {ratio} | {goal} |"


async def bench(args: argparse.Namespace) -> None:
    models = Path(os.environ.get("KBOT_MODELS", TINY_DIR))
    registry = models if models.suffix == ".json" else ensure_tiny_models(models)
    figures = set(args.figures.split(","))
    families = [family.strip() for family in args.families.split(",") if family.strip()]
    rows: list[str] = []
    print(f"bench-bot: tiny models ({registry.parent}), CPU; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as folder:
        scratch = Path(folder)
        if figures & {"a", "b"}:
            quiet_libraries()
            direct = Direct(registry)
            async with running_bot(registry, scratch, verbose=True) as bot:
                user = User(4000, "Ada", "ada")
                await bot.until(lambda: bot.fake.find("getUpdates"), "the bot to poll")
                if "a" in figures:
                    for family in families:
                        request = Request(family, args.size, args.steps, args.prior_steps, 7)
                        found = await overhead(bot, direct, request, args.rounds, user)
                        ratio = found.bot / found.direct
                        png = found.bot / (found.direct + found.encode)
                        print(
                            f"(a) {family}: bot {found.bot:.3f} s, direct {found.direct:.3f} s, "
                            f"{ratio:.3f}x; same pixels: {'yes' if found.same else 'NO'}; "
                            f"the direct picture to PNG {found.encode * 1000:.0f} ms "
                            f"(bot over direct and PNG: {png:.3f}x)"
                        )
                        rows.append(
                            row(
                                f"(a) /imagine {family} {args.size}x{args.size}, "
                                f"{args.steps} steps: update -> photo, over direct",
                                found.bot,
                                found.direct,
                                f"{ratio:.3f}x",
                                "<= 1.03x",
                            )
                        )
                        first = family == families[0]
                        await show_breakdown(bot, found.last, family, args.size, first)
                if "b" in figures:
                    steps = args.batch_steps
                    small = Request(families[0], args.batch_size, steps, steps, 0)
                    found = await batching(bot, direct, small, args.users, args.other_rounds)
                    together, apart = found.together, found.apart
                    shown = "default" if steps is None else steps
                    print(
                        f"(b) {args.users} users at {args.batch_size}x{args.batch_size} "
                        f"({shown} steps): at once "
                        f"{together:.3f} s, one after another {apart:.3f} s, "
                        f"{apart / together:.2f}x (the engine alone: {found.engine:.2f}x); "
                        f"pipeline calls for those sent at once: {found.calls}"
                    )
                    rows.append(
                        row(
                            f"(b) {args.users} users' /imagine at {args.batch_size}x"
                            f"{args.batch_size}, {shown} steps: at once, over one by one",
                            together,
                            apart,
                            f"{apart / together:.2f}x",
                            ">= 2.5x",
                        )
                    )
        if "c" in figures:
            first, again = await start_up(registry, scratch, args.other_rounds)
            print(
                f"(c) kandinsky-bot run: start -> first getUpdates {again:.3f} s "
                f"(the first start, its database made: {first:.3f} s)"
            )
            figure = "(c) `kandinsky-bot run` start -> first getUpdates"
            rows.append(row(f"{figure} (first start)", first, None, "", "< 1.5 s"))
            rows.append(row(f"{figure} (restart)", again, None, "", "< 1.5 s"))
        if "d" in figures:
            seconds = first_image(registry, scratch, args.other_rounds, args.batch_size)
            print(f"(d) kandinsky-bot generate: start -> first image {seconds:.3f} s")
            figure = "(d) process start -> first image (`generate`, tiny 2.2)"
            rows.append(row(figure, seconds, None, "", "< 5 s"))
    print()
    print("| figure | bot | direct / one by one | ratio | goal |")
    print("| --- | --- | --- | --- | --- |")
    for line in rows:
        print(line)


async def show_breakdown(bot: Bot, sent: Sent, family: str, size: int, full: bool) -> None:
    """The stages of one job: a line each (`full`), else all on one line."""
    stages, end_to_end, answer = await breakdown(bot, sent)
    total = sum(seconds for _, seconds in stages)
    if not full:
        shown = ", ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in stages)
        print(f"    its stages (ms): {shown}")
        return
    print(f"stages of one job ({family}, {size}x{size}), from the bot's spans:")
    for name, seconds in stages:
        print(f"  {name:16s} {seconds * 1000:9.1f} ms")
    print(
        f"  sum {total * 1000:.1f} ms; end to end {end_to_end * 1000:.1f} ms "
        f"({total / end_to_end * 100:.1f}%); the bot heard the photo was taken "
        f"{answer * 1000:.1f} ms later"
    )


def main(argv: Sequence[str] | None = None) -> None:
    # A bot stopped in the middle of a call is not news (the fake server would log it).
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    asyncio.run(bench(parse(argv)))


if __name__ == "__main__":
    main()
