"""CUDA check on the tiny models: fp16, CPU offload, torch.compile and quantized weights
through the real engine.

Run where a GPU is: `python benchmarks/gpu_check.py .kbot/tiny-models [OPTION SET...]` (fp16,
fp32, offload, compile, int8, nf4; all by default). It prints, per engine option set, each
task's time (Kandinsky 5's text to image and edit among them) and the peak GPU memory, the
UNet's dtype, whether img2img shares the text-to-image UNet, and whether the same seed gives
the same bytes twice, then the seconds one 5-second Kandinsky 5 Video takes (24 frames a
second, warm) and the peak GPU memory of making it: `offload` gives the figures with CPU
offload, the others without. A quantized set whose backend is not installed says so and is skipped.
It also reads the GPU memory gauge of `/metrics` while the pipelines are loaded and after they
are unloaded. Prints figures; asserts nothing. The real-size figures, Kandinsky 5's at
1024x1024 among them, come from `gpu_real_size.py`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks.bench_engine import mask, picture
from bot.jobs import metrics
from generation.engine.cache import EngineOptions, PipelineCache
from generation.engine.checkpoints import ModelRegistry
from generation.engine.quantize import QuantizationUnavailable, backend_for
from generation.engine.service import GenerationService
from generation.families.k22.pipelines import PIPELINES
from generation.request import GenerationRequest, MixItem, Task

SMALL = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2, "seed": 3}
VIDEO = GenerationRequest(
    task=Task.ANIMATE,
    model="5v",
    prompt="a paper boat on a river",
    width=64,
    height=64,
    steps=2,
    seed=3,
    seconds=5,
    fps=24,
)
"""A 5-second video at 24 frames a second (121 frames), at the tiny models' size."""


def requests() -> dict[str, GenerationRequest]:
    pic = picture()
    base = GenerationRequest(prompt="a lighthouse", **SMALL)
    return {
        "2.1 text2img": base.replace(model="2.1"),
        "2.2 text2img": base,
        "2.2 img2img": base.replace(task=Task.IMG2IMG, init_image=pic, strength=0.5),
        "2.2 inpaint": base.replace(task=Task.INPAINT, init_image=pic, mask=mask()),
        "2.2 mix": base.replace(
            task=Task.MIX, mix=(MixItem(0.5, text="a"), MixItem(0.5, image=pic))
        ),
        "2.2 depth": base.replace(task=Task.DEPTH, init_image=pic),
        "3 text2img": base.replace(model="3"),
        "3 img2img": base.replace(model="3", task=Task.IMG2IMG, init_image=pic, strength=0.5),
        "5 text2img": base.replace(model="5"),
        "5 edit": base.replace(model="5", task=Task.EDIT, init_image=pic),
    }


async def check(name: str, options: EngineOptions, registry: ModelRegistry) -> None:
    try:
        backend_for(options.quantize)
    except QuantizationUnavailable as error:
        print(f"== {name}: skipped, {error}", flush=True)
        return
    cache = PipelineCache(registry, options)
    service = GenerationService([cache], families=registry.sized())
    print(f"== {name}: device {cache.device}, dtype {cache.dtype}", flush=True)
    torch.cuda.reset_peak_memory_stats()
    try:
        for label, request in requests().items():
            prepared = service.prepare(request)
            started = time.perf_counter()
            first = await service.generate(prepared)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            again = await service.generate(prepared)
            warm = time.perf_counter() - started
            same = first.images == again.images
            print(
                f"  {label:14s} cold {cold * 1000:8.1f} ms  warm {warm * 1000:7.1f} ms  "
                f"same bytes {same}",
                flush=True,
            )
        print(f"  {sharing(cache)}; peak GPU memory {peak_mib():.1f} MiB", flush=True)
        made = await video_figures(service)
        peak = "n/a" if made.peak_mib is None else f"{made.peak_mib:.1f} MiB"
        print(
            f"  5v animate: {made.seconds:.2f} s per {VIDEO.seconds} s video "
            f"({made.frames} frames), peak GPU memory {peak}",
            flush=True,
        )
        print(f"  /metrics GPU memory while loaded: {gauge_mib()}", flush=True)
    except Exception as error:  # report and go on to the next option set
        print(f"  FAILED: {type(error).__name__}: {error}", flush=True)
    finally:
        service.close()
        cache.unload()
    gc.collect()
    torch.cuda.empty_cache()
    print(f"  /metrics GPU memory after unload: {gauge_mib()}", flush=True)


@dataclass(frozen=True, slots=True)
class VideoFigures:
    """How long one video took (warm), the peak GPU memory of making it (None on a CPU) and
    its frame count."""

    seconds: float
    peak_mib: float | None
    frames: int


async def video_figures(
    service: GenerationService, request: GenerationRequest = VIDEO
) -> VideoFigures:
    """Make `request` twice (the first loads the pipelines) and time the second."""
    from generation.video import probe

    prepared = service.prepare(request)
    await service.generate(prepared)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    made = await service.generate(prepared)
    seconds = time.perf_counter() - started
    frames = probe(made.images[0]).frames
    return VideoFigures(seconds, peak_mib() if cuda else None, frames)


def sharing(cache: PipelineCache) -> str:
    """The 2.2 UNet's dtype and whether img2img shares it (no pipeline reference kept)."""
    text2img = cache.get("2.2", "text2img", PIPELINES.roles)
    img2img = cache.get("2.2", "img2img", PIPELINES.roles)
    unet = getattr(text2img.unet, "_orig_mod", text2img.unet)
    dtype = next(unet.parameters()).dtype
    return f"unet dtype {dtype}; img2img shares the unet: {img2img.unet is text2img.unet}"


def peak_mib() -> float:
    return torch.cuda.max_memory_allocated() / 2**20


def gauge_mib() -> str:
    """What `/metrics` reports for cuda:0 next to torch's own count, in MiB."""
    metrics.update_gpu_memory()
    shown = metrics.REGISTRY.get_sample_value("kbot_gpu_memory_bytes", {"device": "cuda:0"})
    if shown is None:
        return "not reported"
    return f"{shown / 2**20:.1f} MiB (torch: {torch.cuda.memory_allocated(0) / 2**20:.1f} MiB)"


OPTION_SETS = {
    "fp16": EngineOptions(device="cuda"),
    "fp32": EngineOptions(device="cuda", fp16=False),
    "offload": EngineOptions(device="cuda", cpu_offload=True),
    "compile": EngineOptions(device="cuda", compile=True),
    "int8": EngineOptions(device="cuda", quantize="int8"),
    "nf4": EngineOptions(device="cuda", quantize="nf4"),
}


async def main(models: Path, chosen: list[str]) -> None:
    registry = ModelRegistry.from_file(models)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    print(f"  /metrics GPU memory before loading: {gauge_mib()}", flush=True)
    for name in chosen or list(OPTION_SETS):
        await check(name, OPTION_SETS[name], registry)


if __name__ == "__main__":
    models = Path(sys.argv[1] if len(sys.argv) > 1 else ".kbot/tiny-models")
    asyncio.run(main(models, sys.argv[2:]))
