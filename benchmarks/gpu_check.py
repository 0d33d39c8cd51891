"""CUDA check on the tiny models: fp16, CPU offload and torch.compile through the real engine.

Run where a GPU is: `python benchmarks/gpu_check.py .kbot/tiny-models`. It prints, per engine
option set, each task's time and the peak GPU memory, the UNet's dtype, whether img2img
shares the text-to-image UNet, and whether the same seed gives the same bytes twice.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks.bench_engine import mask, picture
from generation import k22
from generation.engine import EngineOptions, PipelineCache
from generation.registry import ModelRegistry
from generation.request import Family, GenerationRequest, MixItem, Task
from generation.service import GenerationService

SMALL = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2, "seed": 3}


def requests() -> dict[str, GenerationRequest]:
    pic = picture()
    base = GenerationRequest(prompt="a lighthouse", **SMALL)
    return {
        "2.1 text2img": base.replace(model=Family.K21),
        "2.2 text2img": base,
        "2.2 img2img": base.replace(task=Task.IMG2IMG, init_image=pic, strength=0.5),
        "2.2 inpaint": base.replace(task=Task.INPAINT, init_image=pic, mask=mask()),
        "2.2 mix": base.replace(
            task=Task.MIX, mix=(MixItem(0.5, text="a"), MixItem(0.5, image=pic))
        ),
        "2.2 depth": base.replace(task=Task.DEPTH, init_image=pic),
        "3 text2img": base.replace(model=Family.K3),
        "3 img2img": base.replace(model=Family.K3, task=Task.IMG2IMG, init_image=pic, strength=0.5),
    }


async def check(name: str, options: EngineOptions, registry: ModelRegistry) -> None:
    cache = PipelineCache(registry, options)
    service = GenerationService([cache])
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
        text2img = cache.get(Family.K22, "text2img", k22.PIPELINES)
        img2img = cache.get(Family.K22, "img2img", k22.PIPELINES)
        unet = getattr(text2img.unet, "_orig_mod", text2img.unet)
        print(
            f"  unet dtype {next(unet.parameters()).dtype}; img2img shares the unet: "
            f"{img2img.unet is text2img.unet}; peak GPU memory "
            f"{torch.cuda.max_memory_allocated() / 2**20:.1f} MiB",
            flush=True,
        )
    except Exception as error:  # report and go on to the next option set
        print(f"  FAILED: {type(error).__name__}: {error}", flush=True)
    finally:
        service.close()
        cache.unload()


async def main(models: Path) -> None:
    registry = ModelRegistry.from_file(models)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    await check("fp16 on CUDA", EngineOptions(device="cuda"), registry)
    await check("fp32 on CUDA", EngineOptions(device="cuda", fp16=False), registry)
    await check("CPU offload", EngineOptions(device="cuda", cpu_offload=True), registry)
    await check("torch.compile", EngineOptions(device="cuda", compile=True), registry)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".kbot/tiny-models")))
