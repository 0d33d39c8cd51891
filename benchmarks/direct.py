"""The direct side of `bench_bot`: the diffusers pipelines of the tiny checkpoints, built with
`from_pretrained` and called with the values the engine gives them, nothing of the bot around.

Requests are resolved as the bot resolves them (`Intake.prepare`: the family's defaults), so
both sides make the same pictures: each image's noise comes from a CPU generator seeded with
the request's seed, as in the engine (`generation.engine.calls.Call`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from generation.engine.checkpoints import ModelRegistry
from generation.intake import Intake
from generation.request import GenerationRequest

PIPELINES = {
    "2.1": {"prior": "KandinskyPriorPipeline", "text2img": "KandinskyPipeline"},
    "2.2": {"prior": "KandinskyV22PriorPipeline", "text2img": "KandinskyV22Pipeline"},
    "3": {"text2img": "Kandinsky3Pipeline"},
    "5": {"text2img": "Kandinsky5T2IPipeline"},
}
"""Each family's text-to-image pipelines by checkpoint role."""


class Direct:
    """Text-to-image calls straight into diffusers, each pipeline loaded once."""

    def __init__(self, registry: Path) -> None:
        self.registry = ModelRegistry.from_file(registry)
        self.intake = Intake(families=self.registry.sized())
        self._pipes: dict[tuple[str, str], Any] = {}

    def pipe(self, family: str, role: str) -> Any:
        """The pipeline of `role`, from its checkpoint on first use."""
        key = (family, role)
        if key not in self._pipes:
            if family == "5":
                importlib.import_module("generation.families.k5.processor")  # tiny processor
            diffusers = importlib.import_module("diffusers")
            cls = getattr(diffusers, PIPELINES[family][role])
            pipe = cls.from_pretrained(self.registry.get(family, role).id).to("cpu")
            pipe.set_progress_bar_config(disable=True)
            self._pipes[key] = pipe
        return self._pipes[key]

    def run(self, requests: Sequence[GenerationRequest]) -> list[Image.Image]:
        """One call for `requests` (one family, same everything but prompt and seed)."""
        resolved = [self.intake.prepare(request) for request in requests]
        first = resolved[0]
        prompts = [request.prompt for request in resolved]
        common = {
            "height": first.height,
            "width": first.width,
            "num_inference_steps": first.steps,
            "guidance_scale": first.guidance_scale,
            "num_images_per_prompt": 1,
        }
        family = first.model
        if family in ("2.1", "2.2"):
            prior = self.pipe(family, "prior")(
                prompt=prompts,
                num_images_per_prompt=1,
                num_inference_steps=first.prior_steps,
                guidance_scale=first.prior_guidance_scale,
                generator=_generators(resolved),
            )
            common["image_embeds"] = prior.image_embeds
            common["negative_image_embeds"] = prior.negative_image_embeds
            if family == "2.1":  # its decoder reads the text too
                common["prompt"] = prompts
        else:
            common["prompt"] = prompts
        pipe = self.pipe(family, "text2img")
        if family == "5":  # the size list of the real models is set by its constructor
            pipe.resolutions = [(first.width, first.height)]
        out = pipe(**common, generator=_generators(resolved))
        return list(out.image if family == "5" else out.images)


def _generators(requests: Sequence[GenerationRequest]) -> list[torch.Generator]:
    """One CPU generator per image, seeded with its request's seed."""
    generators = []
    for request in requests:
        assert request.seed is not None
        generators.append(torch.Generator("cpu").manual_seed(request.seed))
    return generators
