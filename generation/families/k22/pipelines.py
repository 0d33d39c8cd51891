"""Kandinsky 2.2 through diffusers: prior then decoder; inpainting, mixing, depth ControlNet."""

from __future__ import annotations

from typing import Any

from PIL import Image

from generation.engine.cache import Derive, Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call, depth_hint, legacy_progress, step_end_progress
from generation.engine.family import FamilyPipelines
from generation.engine.schedulers import with_scheduler
from generation.families.k22 import SPEC
from generation.request import Task

FAMILY = SPEC.name
ROLES: dict[str, PipelineSpec] = {
    "prior": Load("KandinskyV22PriorPipeline", "prior"),
    "prior_emb2emb": Derive("KandinskyV22PriorEmb2EmbPipeline", "prior"),
    "text2img": Load("KandinskyV22Pipeline", "text2img"),
    "img2img": Derive("KandinskyV22Img2ImgPipeline", "text2img"),
    "inpaint": Load("KandinskyV22InpaintPipeline", "inpaint"),
    "controlnet": Load("KandinskyV22ControlnetPipeline", "controlnet_depth"),
    "controlnet_img2img": Derive("KandinskyV22ControlnetImg2ImgPipeline", "controlnet"),
}
# How far the prior moves the picture's own embedding towards the prompt (depth img2img).
EMB2EMB_STRENGTH = 0.85


def run(cache: PipelineCache, call: Call) -> list[Image.Image]:
    """Run one call and return its images, one list entry per output image, in order."""
    task = call.first.task
    if task is Task.MIX:
        embeds = _mix_embeds(cache, call)
    elif task is Task.DEPTH and call.first.depth_img2img:
        embeds = _emb2emb_embeds(cache, call)
    else:
        embeds = _prior_embeds(cache, call)
    role = {
        Task.TEXT2IMG: "text2img",
        Task.MIX: "text2img",
        Task.IMG2IMG: "img2img",
        Task.INPAINT: "inpaint",
        Task.DEPTH: "controlnet_img2img" if call.first.depth_img2img else "controlnet",
    }[task]
    pipe = with_scheduler(cache.get(FAMILY, role, ROLES), call.first.scheduler)
    kwargs: dict[str, Any] = {
        **embeds,
        "height": call.first.height,
        "width": call.first.width,
        "num_inference_steps": call.steps,
        "guidance_scale": call.guidance,
        "num_images_per_prompt": 1,
        "generator": call.generators(),
    }
    if task in (Task.IMG2IMG, Task.INPAINT) or (task is Task.DEPTH and call.first.depth_img2img):
        kwargs["image"] = call.init_images()
    if task in (Task.IMG2IMG, Task.DEPTH) and call.first.uses_strength:
        kwargs["strength"] = call.first.strength
    if task is Task.INPAINT:
        kwargs["mask_image"] = call.per_image([item.mask for item in call.inputs])
    if task is Task.DEPTH:
        depth = call.inputs[0].depth
        assert depth is not None
        count = len(call.generators())
        kwargs["hint"] = depth_hint(depth, count, cache.device, cache.dtype)
        kwargs.update(legacy_progress(call))
    else:
        kwargs.update(step_end_progress(call))
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


def _emb2emb_embeds(cache: PipelineCache, call: Call) -> dict[str, Any]:
    """Embeddings from the init picture moved towards the prompt (PriorEmb2Emb)."""
    prior = with_scheduler(cache.get(FAMILY, "prior_emb2emb", ROLES), "default")
    common = {
        "image": call.init_images(),
        "num_images_per_prompt": 1,
        "num_inference_steps": call.first.prior_steps,
        "guidance_scale": call.first.prior_guidance_scale,
    }
    positive = prior(
        prompt=call.per_image(call.prompts()),
        strength=EMB2EMB_STRENGTH,
        generator=call.generators(),
        **common,
    )
    negative = prior(
        prompt=call.negatives() or call.per_image([""] * len(call.requests)),
        strength=1.0,
        generator=call.generators(),
        **common,
    )
    return {
        "image_embeds": positive.image_embeds,
        "negative_image_embeds": negative.image_embeds,
    }


def _mix_embeds(cache: PipelineCache, call: Call) -> dict[str, Any]:
    """Weighted mix of text and picture embeddings (`prior.interpolate`)."""
    request, inputs = call.first, call.inputs[0]
    prior = with_scheduler(cache.get(FAMILY, "prior", ROLES), "default")
    out = prior.interpolate(
        inputs.mix,
        [item.weight for item in request.mix],
        num_images_per_prompt=request.num_images,
        num_inference_steps=request.prior_steps,
        generator=call.prior_generators(),
        negative_prior_prompt=request.negative_prompt or None,
        negative_prompt=request.negative_prompt,
        guidance_scale=request.prior_guidance_scale,
        device=cache.device,
    )
    return {"image_embeds": out.image_embeds, "negative_image_embeds": out.negative_image_embeds}


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
