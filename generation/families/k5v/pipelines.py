"""Kandinsky 5 Video through diffusers: text to video, and image to video.

Every checkpoint role (`VideoRule.role`) is a pipeline of its own; they share the text
encoders (Qwen2.5-VL and CLIP) and tokenizers as the image family's do. A call returns one
video: its frames, in order.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from generation.engine.cache import Load, PipelineCache, PipelineSpec
from generation.engine.calls import Call, step_end_progress
from generation.engine.family import FamilyPipelines, Output
from generation.families.k5v import SPEC
from generation.families.spec import VideoRule

FAMILY = SPEC.name
SPARSE = (("nabla", "flex"),)
"""The 10-second checkpoints' transformers say `attention_type: nabla` in their own config
(the 5-second ones: `flash`); the pipeline then passes a sparse flex-attention block mask,
which only diffusers' `flex` backend takes."""
ENCODERS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
QUANTIZED = ("transformer", "text_encoder")
ROLES: dict[str, PipelineSpec] = {
    role: Load(
        "Kandinsky5I2VPipeline" if role.startswith("image2video") else "Kandinsky5T2VPipeline",
        role,
        half="bfloat16",
        shared=ENCODERS,
        quantize=QUANTIZED,
        xformers=False,  # its transformer picks its own attention backend
        imports=("generation.families.k5.processor",),  # the tiny checkpoints' processor
        attention=SPARSE,
    )
    for role in SPEC.checkpoints
}


def run(cache: PipelineCache, call: Call) -> list[Output]:
    """Run one call (one request, one video) and return the video's frames."""
    request, video = call.first, SPEC.video
    assert request.seconds is not None and request.fps is not None and video is not None
    image = request.init_image is not None
    role = VideoRule.role(request.seconds, image=image, fast=request.fast)
    pipe = cache.get(FAMILY, role, ROLES)
    kwargs: dict[str, Any] = {
        "prompt": call.prompts(),
        "negative_prompt": call.negatives(),
        "height": request.height,
        "width": request.width,
        "num_frames": video.frames(request.seconds, request.fps),
        "num_inference_steps": call.steps,
        "guidance_scale": call.guidance,
        "generator": call.generators(),
        **step_end_progress(call),
    }
    if image:
        kwargs["image"] = call.init_images()[0]
    videos: list[list[Image.Image]] = pipe(**kwargs).frames
    return [list(frames) for frames in videos]


PIPELINES = FamilyPipelines(roles=ROLES, run=run)
