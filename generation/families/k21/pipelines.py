"""Kandinsky 2.1 through diffusers: prior then a text-conditioned decoder; inpainting, mixing."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from generation.engine.cache import Derive, Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call, legacy_progress
from generation.engine.family import FamilyPipelines
from generation.engine.schedulers import with_scheduler
from generation.families.k21 import SPEC
from generation.request import Task

FAMILY = SPEC.name
ROLES: dict[str, PipelineSpec] = {
    "prior": Load("KandinskyPriorPipeline", "prior"),
    "text2img": Load("KandinskyPipeline", "text2img"),
    "img2img": Derive("KandinskyImg2ImgPipeline", "text2img"),
    "inpaint": Load("KandinskyInpaintPipeline", "inpaint"),
}


def run(cache: PipelineCache, call: Call) -> list[Image.Image]:
    """Run one call and return its images, one list entry per output image, in order."""
    task = call.first.task
    embeds = _mix_embeds(cache, call) if task is Task.MIX else _prior_embeds(cache, call)
    role = {
        Task.TEXT2IMG: "text2img",
        Task.MIX: "text2img",
        Task.IMG2IMG: "img2img",
        Task.INPAINT: "inpaint",
    }[task]
    pipe = with_scheduler(cache.get(FAMILY, role, ROLES), call.first.scheduler)
    # The 2.1 decoder reads the text too; for a mix, the texts joined stand in for it.
    prompts = call.prompts() if task is not Task.MIX else [_mix_text(call)]
    kwargs: dict[str, Any] = {
        **embeds,
        "prompt": call.per_image(prompts),
        "negative_prompt": call.negatives(),
        "height": call.first.height,
        "width": call.first.width,
        "num_inference_steps": call.steps,
        "guidance_scale": call.guidance,
        "num_images_per_prompt": 1,
        "generator": call.generators(),
        **legacy_progress(call),
    }
    if task is Task.IMG2IMG:
        kwargs["image"] = call.init_images()
        kwargs["strength"] = call.first.strength
    if task is Task.INPAINT:
        kwargs["image"] = call.init_images()
        kwargs["mask_image"] = call.per_image([item.mask for item in call.inputs])
    return list(pipe(**kwargs).images)


def _prior_embeds(cache: PipelineCache, call: Call) -> dict[str, Any]:
    prior = with_scheduler(cache.get(FAMILY, "prior", ROLES), "default")
    out = prior(
        prompt=call.per_image(call.prompts()),
        negative_prompt=call.negatives(),
        num_images_per_prompt=1,
        num_inference_steps=call.first.prior_steps,
        guidance_scale=call.first.prior_guidance_scale,
        generator=call.prior_generators(),
    )
    return {"image_embeds": out.image_embeds, "negative_image_embeds": out.negative_image_embeds}


def _mix_embeds(cache: PipelineCache, call: Call) -> dict[str, Any]:
    """Weighted mix of text and picture embeddings (`prior.interpolate`).

    The 2.1 `interpolate` sums everything into one embedding whatever
    `num_images_per_prompt` says, so each output image gets its own call and seed.
    """
    request, inputs = call.first, call.inputs[0]
    prior = with_scheduler(cache.get(FAMILY, "prior", ROLES), "default")
    positive, negative = [], []
    for generator in call.generators():
        out = prior.interpolate(
            inputs.mix,
            [item.weight for item in request.mix],
            num_images_per_prompt=1,
            num_inference_steps=request.prior_steps,
            generator=generator,
            negative_prior_prompt=request.negative_prompt or None,
            negative_prompt=request.negative_prompt,
            guidance_scale=request.prior_guidance_scale,
            device=cache.device,
        )
        positive.append(out.image_embeds)
        negative.append(out.negative_image_embeds)
    return {"image_embeds": torch.cat(positive), "negative_image_embeds": torch.cat(negative)}


def _mix_text(call: Call) -> str:
    request = call.first
    texts = [item.text for item in request.mix if item.text]
    return request.prompt or ", ".join(texts)


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
