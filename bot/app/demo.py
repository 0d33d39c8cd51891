"""The offline demo: a scripted chat session on tiny models, through the full path.

Console adapter -> bot -> queue -> storage -> generation, exactly as a user's chat goes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from bot.app.settings import Settings

TINY_DIR = Path(".kbot") / "tiny-models"
SMALL = "--size 64x64 --steps 2 --prior-steps 2"
DEMO_USER = "demo"
SMALL_5 = "--steps 2"  # Kandinsky 5: no prior; the tiny models' smallest size is the default
VIDEO = "--size 64x64 --steps 2 --fps 1"  # a 5-second video of 5 frames


def ensure_tiny_models(directory: Path) -> Path:
    """Build the tiny checkpoints into `directory` unless they are there; return the registry."""
    registry = directory / "registry.json"
    if not registry.is_file():
        from bot.app.root import quiet_libraries

        quiet_libraries()
        from generation.engine.tiny import build_tiny_models

        build_tiny_models(directory)
    return registry


def _pictures(folder: Path) -> tuple[Path, Path]:
    """A picture and a mask (white = repaint) for the image commands."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    picture = Image.new("RGB", (96, 64), (70, 110, 160))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((40, 10, 56, 60), fill=(230, 230, 220))
    draw.polygon([(36, 12), (48, 2), (60, 12)], fill=(200, 40, 40))
    mask = Image.new("L", (96, 64), 0)
    ImageDraw.Draw(mask).rectangle((38, 20, 58, 50), fill=255)
    paths = folder / "lighthouse.png", folder / "door-mask.png"
    for image, path in zip((picture, mask), paths, strict=True):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
    return paths


def demo_script(picture: Path, mask: Path) -> list[str]:
    """The commands the demo types, one of each generation task (Kandinsky 5's text to
    image and edit among them) and a few others."""
    return [
        "/help",
        f"/imagine a lighthouse at dusk --seed 7 --n 2 {SMALL}",
        f"/img2img {picture} a watercolor lighthouse --strength 0.5 --seed 7 {SMALL}",
        f"/inpaint {picture} {mask} a red door --seed 7 {SMALL}",
        f"/mix a cat::0.3 | {picture}::0.7 --seed 7 {SMALL}",
        f"/depth {picture} a stone tower --seed 7 {SMALL}",
        f"/depth {picture} a glass tower --init --strength 0.5 --seed 7 {SMALL}",
        "1",
        f"/imagine a lighthouse at dusk --model 5 --seed 7 {SMALL_5}",
        f"/edit {picture} make it night --seed 7 {SMALL_5}",
        f"/animate a paper boat on a river --seed 7 {VIDEO}",
        "/history",
        "/show 3",
        "/quota",
        f"/inpaint --model 3 {picture} {mask} a door {SMALL}",
    ]


async def _lines(script: list[str]) -> AsyncIterator[str]:
    for line in script:
        yield line


def demo_settings(settings: Settings, output: Path) -> Settings:
    """The settings the demo runs with: tiny models on the CPU, everything under `output`."""
    models = settings.models or TINY_DIR
    registry = ensure_tiny_models(models if models.suffix != ".json" else models.parent)
    return dataclasses.replace(
        settings, models=registry, device=("cpu",), data_dir=output / "data", database_url=None
    )


def run_demo(settings: Settings, output: Path, out: TextIO | None = None) -> None:
    """Run the scripted session with tiny models; pictures and the database go to `output`."""
    from bot.app.console import run_console

    settings = demo_settings(settings, output)
    if output.exists():
        shutil.rmtree(output)
    script = demo_script(*_pictures(output / "inputs"))
    session = run_console(
        settings,
        output,
        lines=_lines(script),
        out=out,
        user=DEMO_USER,
        echo=True,
        wait_each=True,
        greet=False,
    )
    asyncio.run(session)
