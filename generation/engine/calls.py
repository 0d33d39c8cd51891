"""One pipeline call: the requests it serves, their decoded inputs, seeds and progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from generation.intake import Inputs
from generation.request import GenerationCancelled, GenerationRequest

__all__ = ["Call", "GenerationCancelled", "StepCallback"]

NEGATIVE_SEED_OFFSET = 1_000_003
StepCallback = Callable[[int, int], None]
"""Called with (steps done, steps in all) after each decoder step; may raise to cancel."""


@dataclass(slots=True)
class Call:
    """Compatible requests (same everything but prompt, negative prompt and seed) run as one."""

    requests: list[GenerationRequest]
    inputs: list[Inputs]
    progress: StepCallback = lambda done, total: None
    context: int | None = None
    """Text tokens the decoder attends to, for a family that cuts the text to the call's
    longest prompt: given, the run uses it (a call made again); None, the run sets it."""

    @property
    def first(self) -> GenerationRequest:
        """The request whose shared parameters the call uses."""
        return self.requests[0]

    @property
    def steps(self) -> int:
        """Decoder steps asked for."""
        assert self.first.steps is not None
        return self.first.steps

    @property
    def guidance(self) -> float:
        """Decoder guidance scale."""
        assert self.first.guidance_scale is not None
        return self.first.guidance_scale

    @property
    def images_per_request(self) -> int:
        """Images each request asks for (the same for all in a call)."""
        return self.first.num_images

    def decoder_steps(self) -> int:
        """Steps the decoder will actually run (image to image skips the first ones)."""
        return self.first.decoder_steps

    def per_image(self, values: list[Any]) -> list[Any]:
        """Repeat one value per request into one value per output image."""
        return [value for value in values for _ in range(self.images_per_request)]

    def prompts(self) -> list[str]:
        """One prompt per request."""
        return [request.prompt for request in self.requests]

    def negatives(self) -> list[str] | None:
        """One negative prompt per output image, or None when no request has one."""
        if not any(request.negative_prompt for request in self.requests):
            return None
        return self.per_image([request.negative_prompt for request in self.requests])

    def generators(self) -> list[torch.Generator]:
        """One CPU generator per output image: image i of a request uses seed + i.

        CPU generators make the same seed give the same noise on every device.
        """
        generators = []
        for request in self.requests:
            assert request.seed is not None
            for index in range(request.num_images):
                generators.append(torch.Generator("cpu").manual_seed(request.seed + index))
        return generators

    def prior_generators(self) -> list[torch.Generator]:
        """Generators for a 2.x prior call: with a negative prompt the prior doubles its
        batch (prompts, then negatives), so the negatives get generators of their own."""
        generators = self.generators()
        if self.negatives() is None:
            return generators
        return generators + [
            torch.Generator("cpu").manual_seed(g.initial_seed() + NEGATIVE_SEED_OFFSET)
            for g in generators
        ]

    def init_images(self) -> list[Image.Image]:
        """One init image per output image."""
        return self.per_image([item.init for item in self.inputs])


def depth_hint(
    depth: Image.Image, count: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Turn a grey depth map into the ControlNet hint: (count, 3, H, W) floats in [0, 1]."""
    grey = np.asarray(depth.convert("L"), dtype=np.float32) / 255.0
    hint = torch.from_numpy(grey)[None, None].repeat(count, 3, 1, 1)
    return hint.to(device=device, dtype=dtype)


def legacy_progress(call: Call) -> dict[str, Any]:
    """Keyword arguments for pipelines with the older `callback(step, t, latents)` hook."""
    total = call.decoder_steps()

    def callback(step: int, _timestep: Any, _latents: Any) -> None:
        call.progress(step + 1, total)

    return {"callback": callback, "callback_steps": 1}


def step_end_progress(call: Call) -> dict[str, Any]:
    """Keyword arguments for pipelines with `callback_on_step_end`."""
    total = call.decoder_steps()

    def callback(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        call.progress(step + 1, total)
        return tensors

    return {"callback_on_step_end": callback}
