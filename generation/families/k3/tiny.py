"""A tiny random Kandinsky 3 checkpoint: T5 text encoder, Kandinsky3UNet and MoVQ.

Folder `k3` under the tiny models' folder; the tokenizer, MoVQ and saving come from
`generation.engine.tiny`.
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, Kandinsky3Pipeline, Kandinsky3UNet
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from generation.engine.tiny import (
    LATENT_CHANNELS,
    TinyBuilder,
    TinyParts,
    save_pipeline,
    t5_tokenizer,
)

T5_DIM = 32  # Kandinsky 3 text encoder width = Kandinsky3UNet encoder_hid_dim


def _t5_encoder(tokenizer: T5Tokenizer, seed: int) -> T5EncoderModel:
    """Tiny T5 encoder (gated-GELU, like the FLAN-UL2 encoder Kandinsky 3 uses)."""
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=T5_DIM,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        dropout_rate=0.0,
        is_encoder_decoder=False,
        use_cache=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return T5EncoderModel(config)


def _k3_unet(seed: int) -> Kandinsky3UNet:
    """Kandinsky 3 UNet on 4-channel MoVQ latents with two levels."""
    torch.manual_seed(seed)
    return Kandinsky3UNet(
        in_channels=LATENT_CHANNELS,
        time_embedding_dim=32,
        groups=8,
        attention_head_dim=8,
        layers_per_block=2,  # the up blocks assume at least two resnets per level
        block_out_channels=(32, 64),
        cross_attention_dim=32,
        encoder_hid_dim=T5_DIM,
    )


def _k3_scheduler() -> DDPMScheduler:
    """DDPM configuration in the style of the Kandinsky 3 hub checkpoint."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=0.0001,
        beta_end=0.02,
        clip_sample=False,
        prediction_type="epsilon",
        thresholding=False,
        variance_type="fixed_small",
    )


def build(parts: TinyParts) -> dict[str, str]:
    """Save the tiny Kandinsky 3 pipeline; return its registry entry."""
    out_dir, movq, seed = parts.out_dir, parts.movq, parts.seed
    tokenizer = t5_tokenizer()
    pipeline = Kandinsky3Pipeline(
        tokenizer=tokenizer,
        text_encoder=_t5_encoder(tokenizer, seed),
        unet=_k3_unet(seed),
        scheduler=_k3_scheduler(),
        movq=movq,
    )
    save_pipeline(pipeline, out_dir / "k3")
    return {"text2img": "k3"}


TINY = TinyBuilder(build=build)
