"""The offline demo: one image per task on tiny models, through the service users get."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path
from typing import Any

from bot.settings import Settings
from generation.request import Family, GenerationRequest, MixItem, Task

TINY_DIR = Path(".kbot") / "tiny-models"
SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2}


def ensure_tiny_models(directory: Path) -> Path:
    """Build the tiny checkpoints into `directory` unless they are there; return the registry."""
    registry = directory / "registry.json"
    if not registry.is_file():
        from bot.app import quiet_libraries

        quiet_libraries()
        from generation.tiny import build_tiny_models

        build_tiny_models(directory)
    return registry


def _centre_mask(size: int) -> bytes:
    from PIL import Image, ImageDraw

    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def demo_requests(picture: bytes) -> list[GenerationRequest]:
    """The demo's requests after text to image: one per remaining task."""
    base = GenerationRequest(model=Family.K22, seed=7, **SMALL)
    return [
        base.replace(task=Task.IMG2IMG, prompt="a watercolor lighthouse", init_image=picture),
        base.replace(
            task=Task.INPAINT, prompt="a red door", init_image=picture, mask=_centre_mask(64)
        ),
        base.replace(
            task=Task.MIX,
            mix=(
                MixItem(0.3, text="a cat"),
                MixItem(0.4, text="a dog"),
                MixItem(0.3, image=picture),
            ),
        ),
        base.replace(task=Task.DEPTH, prompt="a stone tower", init_image=picture),
        base.replace(
            task=Task.DEPTH, prompt="a glass tower", init_image=picture, depth_img2img=True
        ),
    ]


async def _run(settings: Settings, output: Path) -> list[Path]:
    from bot.app import build_generation
    from bot.cli import save_results

    service = build_generation(settings)
    try:
        first = GenerationRequest(prompt="a lighthouse at dusk", model=Family.K22, seed=7, **SMALL)
        text2img = await service.generate(service.prepare(first))
        paths = save_results([text2img], output, stem="demo")
        for request in demo_requests(text2img.images[0]):
            result = await service.generate(service.prepare(request))
            paths += save_results([result], output, stem="demo")
        return paths
    finally:
        service.close()


def run_demo(settings: Settings, output: Path) -> list[Path]:
    """Make one image of each task with tiny models; return the files written."""
    models = settings.models or TINY_DIR
    registry = ensure_tiny_models(models if models.suffix != ".json" else models.parent)
    settings = dataclasses.replace(settings, models=registry, device=("cpu",))
    return asyncio.run(_run(settings, output))
