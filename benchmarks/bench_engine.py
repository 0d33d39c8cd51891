"""Engine benchmark on the tiny models: prints figures, asserts nothing.

- latency per task (median of several runs, 64x64, 2 steps)
- throughput of one batch of 8 compatible requests against 8 single calls
- memory with text2img, img2img and mix loaded against text2img alone
- time from process start to the first image (a fresh `kandinsky-bot generate`)
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot.app.demo import TINY_DIR, ensure_tiny_models
from bot.app.root import build_generation
from bot.app.settings import Settings
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest, MixItem, Task

SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2, "seed": 1}
RUNS = 5


def picture() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "steelblue").save(buffer, format="PNG")
    return buffer.getvalue()


def mask() -> bytes:
    from PIL import Image

    image = Image.new("L", (64, 64), 0)
    image.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def task_requests(families: Families = DEFAULT_FAMILIES) -> dict[str, GenerationRequest]:
    """One request per task each family runs (`families`: with the sizes the models make)."""
    from generation.request import validate

    pic = picture()
    base = GenerationRequest(prompt="a lighthouse", **SMALL)
    mix = (MixItem(0.5, text="a cat"), MixItem(0.5, image=pic))
    cells = {
        "text2img": {},
        "img2img": {"task": Task.IMG2IMG, "init_image": pic, "strength": 0.5},
        "inpaint": {"task": Task.INPAINT, "init_image": pic, "mask": mask()},
        "mix": {"task": Task.MIX, "mix": mix},
        "depth": {"task": Task.DEPTH, "init_image": pic},
        "edit": {"task": Task.EDIT, "init_image": pic},
    }
    requests = {}
    for spec in families:
        for name, extra in cells.items():
            request = base.replace(model=spec.name, **extra)
            try:
                validate(request, families=families)
            except ValueError:
                continue
            requests[f"{spec.name} {name}"] = request
    return requests


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def unique_weight_mb(pipes: list[Any]) -> float:
    seen: dict[int, int] = {}
    for pipe in pipes:
        for component in pipe.components.values():
            for tensor in getattr(component, "parameters", lambda: [])():
                seen[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
    return sum(seen.values()) / 2**20


async def latency(service: Any) -> None:
    print("latency per task (median of", RUNS, "runs, 64x64, 2 steps, warm):")
    for name, request in task_requests(service.families).items():
        prepared = service.prepare(request)
        await service.generate(prepared)  # load and warm up
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await service.generate(prepared)
            times.append(time.perf_counter() - started)
        print(f"  {name:14s} {statistics.median(times) * 1000:8.1f} ms")


async def batching(service: Any) -> None:
    requests = [
        service.prepare(
            GenerationRequest(prompt=f"a lighthouse number {i}", **{**SMALL, "seed": i})
        )
        for i in range(8)
    ]
    await service.generate_batch(requests)
    singles, batches = [], []
    for _ in range(3):
        started = time.perf_counter()
        for request in requests:
            await service.generate(request)
        singles.append(time.perf_counter() - started)
        started = time.perf_counter()
        await service.generate_batch(requests)
        batches.append(time.perf_counter() - started)
    single, batch = statistics.median(singles), statistics.median(batches)
    print(
        f"8 single calls: {single * 1000:.0f} ms; one batch of 8: {batch * 1000:.0f} ms; "
        f"throughput ratio batch/single: {single / batch:.2f}x"
    )


def memory(settings: Settings) -> None:
    """Run in a fresh process per case so resident memory is comparable."""
    code = (
        "import asyncio, sys; sys.argv = ['x', sys.argv[1]]; from benchmarks.bench_engine import "
        "memory_case; memory_case(sys.argv[1])"
    )
    figures = {}
    for case in ("text2img", "text2img+img2img+mix"):
        out = subprocess.run(
            [sys.executable, "-c", code, case],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "KBOT_MODELS": str(settings.models), "KBOT_DEVICE": "cpu"},
        ).stdout.split()
        figures[case] = (float(out[-2]), float(out[-1]))
    (rss_a, w_a), (rss_b, w_b) = figures["text2img"], figures["text2img+img2img+mix"]
    print(
        f"resident memory, 2.2 text2img alone: {rss_a:.0f} MB (weights {w_a:.1f} MB); "
        f"with img2img and mix: {rss_b:.0f} MB (weights {w_b:.1f} MB); "
        f"ratio {rss_b / rss_a:.3f} (weights {w_b / w_a:.3f})"
    )


def memory_case(case: str) -> None:
    from generation.families.k22.pipelines import PIPELINES

    service = build_generation(Settings.from_env(dotenv=None))
    pic = picture()
    base = GenerationRequest(prompt="a lighthouse", model="2.2", **SMALL)
    requests = [base]
    if case != "text2img":
        requests += [
            base.replace(task=Task.IMG2IMG, init_image=pic, strength=0.5),
            base.replace(task=Task.MIX, mix=(MixItem(0.5, text="a"), MixItem(0.5, image=pic))),
        ]
    for request in requests:
        service.run([request])
    cache = service.caches[0]
    pipes = [cache.get("2.2", role, PIPELINES.roles) for role in ("prior", "text2img")]
    if case != "text2img":
        pipes.append(cache.get("2.2", "img2img", PIPELINES.roles))
    print(f"{rss_mb():.1f} {unique_weight_mb(pipes):.3f}")


def first_image(settings: Settings, out: Path) -> None:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "generate",
            "a lighthouse",
            "--size",
            "64x64",
            "--steps",
            "2",
            "--prior-steps",
            "2",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "KBOT_MODELS": str(settings.models), "KBOT_DEVICE": "cpu"},
    )
    print(
        f"process start to first image (kandinsky-bot generate, 2.2): "
        f"{time.perf_counter() - started:.2f} s"
    )


async def main() -> None:
    registry = ensure_tiny_models(Path(os.environ.get("KBOT_MODELS", TINY_DIR)))
    settings = Settings(models=registry, device=("cpu",))
    print(f"tiny models: {registry.parent}; torch threads: {__import__('torch').get_num_threads()}")
    service = build_generation(settings)
    try:
        await latency(service)
        await batching(service)
    finally:
        service.close()
    memory(settings)
    first_image(settings, Path(".kbot") / "bench-first-image.png")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    asyncio.run(main())
