"""Tiny random Kandinsky 2.2 checkpoints: prior, decoder, inpainting and depth ControlNet.

Folders `k22-prior`, `k22-decoder`, `k22-inpaint` and `k22-controlnet-depth` under the tiny
models' folder; the parts every family shares (tokenizers, prior, MoVQ, saving) come from
`generation.engine.tiny`.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    DDPMScheduler,
    KandinskyV22ControlnetPipeline,
    KandinskyV22InpaintPipeline,
    KandinskyV22Pipeline,
    KandinskyV22PriorPipeline,
    UNet2DConditionModel,
)

from generation.engine.tiny import (
    INPAINT_CHANNELS,
    LATENT_CHANNELS,
    TinyBuilder,
    TinyParts,
    save_pipeline,
    save_prior,
    unet_kwargs,
    write_decoder_card,
)

# Not 2.1's size (like the real 768 / 1280), so a 2.1 prior wired to a 2.2 decoder fails loudly.
K22_EMBED_DIM = 48  # CLIP projection = prior embedding = 2.2 UNet encoder_hid_dim
UNET_CROSS_ATTENTION_DIM = 32  # 2.2 UNet cross attention width


def _unet22(in_channels: int, addition_embed_type: str, seed: int) -> UNet2DConditionModel:
    """Kandinsky 2.2 UNet conditioned on the image embedding only ("image" or "image_hint")."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        in_channels=in_channels,
        encoder_hid_dim=K22_EMBED_DIM,
        encoder_hid_dim_type="image_proj",
        cross_attention_dim=UNET_CROSS_ATTENTION_DIM,
        addition_embed_type=addition_embed_type,
        **unet_kwargs(),
    )


def _k22_scheduler() -> DDPMScheduler:
    """The DDPM configuration of the Kandinsky 2.2 hub decoders."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        steps_offset=1,
        prediction_type="epsilon",
        thresholding=False,
        variance_type="fixed_small",
    )


def build(parts: TinyParts) -> dict[str, str]:
    """Save the tiny Kandinsky 2.2 prior and decoders; return their registry entry."""
    out_dir, movq, seed = parts.out_dir, parts.movq, parts.seed
    prior_folder = out_dir / "k22-prior"
    save_prior(KandinskyV22PriorPipeline, prior_folder, K22_EMBED_DIM, seed)
    decoders: tuple[tuple[str, Any, int, str, str], ...] = (
        ("k22-decoder", KandinskyV22Pipeline, LATENT_CHANNELS, "image", "Kandinsky 2.2 decoder"),
        (
            "k22-inpaint",
            KandinskyV22InpaintPipeline,
            INPAINT_CHANNELS,
            "image",
            "Kandinsky 2.2 inpainting",
        ),
        (
            "k22-controlnet-depth",
            KandinskyV22ControlnetPipeline,
            2 * LATENT_CHANNELS,  # latents + the 4-channel output of the UNet's hint block
            "image_hint",
            "Kandinsky 2.2 depth ControlNet",
        ),
    )
    for name, pipeline_class, in_channels, addition_embed_type, title in decoders:
        pipeline = pipeline_class(
            unet=_unet22(in_channels, addition_embed_type, seed),
            scheduler=_k22_scheduler(),
            movq=movq,
        )
        save_pipeline(pipeline, out_dir / name)
        write_decoder_card(out_dir / name, prior_folder, title)
    return {
        "prior": "k22-prior",
        "text2img": "k22-decoder",
        "inpaint": "k22-inpaint",
        "controlnet_depth": "k22-controlnet-depth",
    }


TINY = TinyBuilder(build=build)
