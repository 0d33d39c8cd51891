"""Kandinsky 5 through diffusers: text to image, and editing a picture by instruction.

Both pipelines run in bf16 where half precision is on, and share their two text encoders
(Qwen2.5-VL and CLIP) and tokenizers: whichever loads second takes them from the first, so
one copy is in memory. `KBOT_QUANTIZE` applies to the transformer and the Qwen encoder.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from generation.engine.cache import Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call, step_end_progress
from generation.engine.family import FamilyPipelines
from generation.engine.schedulers import with_scheduler
from generation.families.k5 import SPEC
from generation.request import Task

FAMILY = SPEC.name
ENCODERS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
QUANTIZED = ("transformer", "text_encoder")
ROLES: dict[str, PipelineSpec] = {
    role: Load(
        cls,
        role,
        half="bfloat16",
        shared=ENCODERS,
        quantize=QUANTIZED,
        xformers=False,  # its transformer picks its own attention backend
        imports=("generation.families.k5.processor",),  # the tiny checkpoints' processor
    )
    for role, cls in (("text2img", "Kandinsky5T2IPipeline"), ("edit", "Kandinsky5I2IPipeline"))
}


def run(cache: PipelineCache, call: Call) -> list[Image.Image]:
    """Run one call and return its images, one list entry per output image, in order."""
    request = call.first
    role = "edit" if request.task is Task.EDIT else "text2img"
    pipe = with_scheduler(cache.get(FAMILY, role, ROLES), request.scheduler)
    # The pipelines move any size not in `resolutions` to the listed size of the nearest
    # aspect, and their constructor sets the real models' list. Validation already held the
    # request to the family's list (the real one, or the one the registry file declares).
    pipe.resolutions = [(request.width, request.height)]
    kwargs: dict[str, Any] = {
        "prompt": call.per_image(call.prompts()),
        "negative_prompt": call.negatives(),
        "height": request.height,
        "width": request.width,
        "num_inference_steps": call.steps,
        "guidance_scale": call.guidance,
        "num_images_per_prompt": 1,
        "generator": call.generators(),
        **step_end_progress(call),
    }
    if request.task is Task.EDIT:
        # One picture per prompt: the editing pipeline refuses several prompts over one.
        kwargs["image"] = call.init_images()
    return list(pipe(**kwargs).image)


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
