"""Kandinsky 3 through diffusers: one text-conditioned pipeline, no prior (text or image)."""

from __future__ import annotations

from typing import Any

import torch
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
        **_text(pipe, call),
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


def _text(pipe: Any, call: Call) -> dict[str, Any]:
    """The prompts' embeddings, cut to `call.context` tokens (set here when not given).

    The pipelines cut the text to the longest prompt of the call (plus one token), so an
    image would depend on the prompts it was batched with; encoding here lets a call made
    again cut at the length the first call had. The cut is the pipelines' own.
    """
    guided = call.guidance > 1
    with torch.no_grad():
        embeds, negative, mask, negative_mask = pipe.encode_prompt(
            call.per_image(call.prompts()),
            do_classifier_free_guidance=guided,
            num_images_per_prompt=1,
            negative_prompt=call.negatives(),
            _cut_context=False,
        )
    if call.context is None:
        call.context = int(mask.sum(-1).max()) + 1
    length = min(call.context, mask.shape[1])
    text = {"prompt_embeds": embeds[:, :length], "attention_mask": mask[:, :length]}
    if guided:
        text["negative_prompt_embeds"] = negative[:, :length]
        text["negative_attention_mask"] = negative_mask[:, :length]
    return text


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
