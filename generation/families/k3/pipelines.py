"""Kandinsky 3 through diffusers: one text-conditioned pipeline, no prior (text or image)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from generation.engine.cache import Derive, Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call, step_end_progress
from generation.engine.family import FamilyPipelines
from generation.engine.schedulers import with_scheduler
from generation.families.k3 import SPEC
from generation.request import Task

FAMILY = SPEC.name
ROLES: dict[str, PipelineSpec] = {
    "text2img": Load("Kandinsky3Pipeline", "text2img"),
    "img2img": Derive("Kandinsky3Img2ImgPipeline", "text2img"),
}


def run(cache: PipelineCache, call: Call) -> list[Image.Image]:
    """Run one call and return its images, one list entry per output image, in order."""
    task = call.first.task
    role = "img2img" if task is Task.IMG2IMG else "text2img"
    pipe = with_scheduler(cache.get(FAMILY, role, ROLES), call.first.scheduler)
    kwargs: dict[str, Any] = {
        "prompt": call.per_image(call.prompts()),
        "negative_prompt": call.negatives(),
        "num_inference_steps": call.steps,
        "guidance_scale": call.guidance,
        "num_images_per_prompt": 1,
        "generator": call.generators(),
        **step_end_progress(call),
    }
    if task is Task.IMG2IMG:
        # The image-to-image pipeline takes its size from the (already fitted) picture.
        kwargs["image"] = call.init_images()
        kwargs["strength"] = call.first.strength
    else:
        kwargs["height"] = call.first.height
        kwargs["width"] = call.first.width
    return list(pipe(**kwargs).images)


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
