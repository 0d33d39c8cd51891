"""Small picture makers for tests."""

from __future__ import annotations

import asyncio
import io
import signal

from PIL import Image, ImageDraw

from generation.request import GenerationRequest

SMALL = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2}


def png(size: tuple[int, int] = (64, 64), color: str = "steelblue", mode: str = "RGB") -> bytes:
    """A PNG with a coloured square in the middle."""
    image = Image.new(mode, size, color)
    ImageDraw.Draw(image).rectangle(
        (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill="orange"
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def mask_png(size: int = 64) -> bytes:
    """A black mask with a white (repaint) square in the middle."""
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def small(**changes: object) -> GenerationRequest:
    """A tiny 64x64, 2-step request."""
    return GenerationRequest(prompt="a red fox in the snow", seed=1, **SMALL).replace(**changes)


def decode(data: bytes) -> Image.Image:
    """Open PNG bytes."""
    return Image.open(io.BytesIO(data))


async def stop_process(process: asyncio.subprocess.Process, within: float = 60.0) -> None:
    """Stop a bot process as an operator would: SIGTERM, then a kill after `within` seconds."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
