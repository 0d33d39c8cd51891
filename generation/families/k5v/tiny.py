"""Tiny random Kandinsky 5 Video checkpoints: text to video (`k5v-t2v`), image to video
(`k5v-i2v`).

Both hold the same text encoders as the tiny image family builds (a Qwen2.5-VL whose tokenizer
is trained on the video template, so its prefix is the 128 tokens the pipelines cut at, and a
CLIP text model), the same `AutoencoderKLHunyuanVideo` (four levels of 8 channels: 8x
spatial, 4x temporal, 16 latent channels) and each its own transformer (`visual_cond` for
image to video). Every checkpoint role of the family (both lengths, `--fast`) is one of the
two folders.

The tiny models make the sizes `TINY_SIZES` (the registry file says so): small enough that a
few frames run in a fraction of a second.
"""

from __future__ import annotations

from diffusers import (
    AutoencoderKLHunyuanVideo,
    FlowMatchEulerDiscreteScheduler,
    Kandinsky5I2VPipeline,
    Kandinsky5T2VPipeline,
)
from torch import manual_seed

from generation.engine.tiny import TinyBuilder, TinyParts, clip_tokenizer, save_pipeline
from generation.families.k5.tiny import (
    LATENTS,
    clip_model,
    qwen_model,
    qwen_processor,
    transformer_model,
)
from generation.families.k5v import SPEC

TINY_SIZES = ((64, 64), (96, 64), (64, 96))
"""The (width, height) sizes the tiny checkpoints make."""


def _vae(seed: int) -> AutoencoderKLHunyuanVideo:
    """HunyuanVideo VAE with four 8-channel levels: 8x spatial, 4x temporal compression."""
    manual_seed(seed)
    return AutoencoderKLHunyuanVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=LATENTS,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        norm_num_groups=4,
        spatial_compression_ratio=8,
        temporal_compression_ratio=4,
    )


def build(parts: TinyParts) -> dict[str, str | list[str]]:
    """Save the tiny text-to-video and image-to-video pipelines; return their entry."""
    seed = parts.seed
    processor = qwen_processor(video=True)
    second_tokenizer = clip_tokenizer()
    shared = {
        "text_encoder": qwen_model(processor.tokenizer, seed),
        "tokenizer": processor,
        "text_encoder_2": clip_model(second_tokenizer, seed),
        "tokenizer_2": second_tokenizer,
        "vae": _vae(seed),
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
    }
    folders = {}
    for folder, pipeline_class, visual_cond in (
        ("k5v-t2v", Kandinsky5T2VPipeline, False),
        ("k5v-i2v", Kandinsky5I2VPipeline, True),
    ):
        transformer = transformer_model(seed, visual_cond=visual_cond)
        save_pipeline(pipeline_class(transformer=transformer, **shared), parts.out_dir / folder)
        folders[visual_cond] = folder
    entry: dict[str, str | list[str]] = {
        role: folders[role.startswith("image2video")] for role in SPEC.checkpoints
    }
    entry["sizes"] = [f"{width}x{height}" for width, height in TINY_SIZES]
    return entry


TINY = TinyBuilder(build=build)
