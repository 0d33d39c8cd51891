"""Tiny random Kandinsky 2.1 checkpoints: prior, decoder and inpainting decoder.

Folders `k21-prior`, `k21-decoder` and `k21-inpaint` under the tiny models' folder; the parts
every family shares (tokenizers, prior, MoVQ, saving) come from `generation.engine.tiny`.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    DDIMScheduler,
    KandinskyInpaintPipeline,
    KandinskyPipeline,
    KandinskyPriorPipeline,
    UNet2DConditionModel,
)
from diffusers.pipelines.kandinsky.text_encoder import MCLIPConfig, MultilingualCLIP
from transformers import XLMRobertaTokenizer

from generation.engine.tiny import (
    INPAINT_CHANNELS,
    LATENT_CHANNELS,
    TinyBuilder,
    TinyParts,
    save_pipeline,
    save_prior,
    unet_kwargs,
    write_decoder_card,
    xlm_roberta_tokenizer,
)

# Not 2.2's size (like the real 768 / 1280), so a 2.1 prior wired to a 2.2 decoder fails loudly.
K21_EMBED_DIM = 32  # CLIP projection = prior embedding = 2.1 UNet cross_attention_dim
MCLIP_HIDDEN = 24  # XLM-R width of the 2.1 text encoder = 2.1 UNet encoder_hid_dim


def _mclip_text_encoder(tokenizer: XLMRobertaTokenizer, seed: int) -> MultilingualCLIP:
    """Kandinsky 2.1 text encoder: XLM-R plus a linear map of the pooled text to K21_EMBED_DIM."""
    torch.manual_seed(seed)
    config = MCLIPConfig(
        transformerDimSize=MCLIP_HIDDEN,
        imageDimSize=K21_EMBED_DIM,
        vocab_size=len(tokenizer),
        hidden_size=MCLIP_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * MCLIP_HIDDEN,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return MultilingualCLIP(config)


def _unet21(in_channels: int, seed: int) -> UNet2DConditionModel:
    """Kandinsky 2.1 UNet: text hidden states + image embedding projected into the context."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        in_channels=in_channels,
        encoder_hid_dim=MCLIP_HIDDEN,
        encoder_hid_dim_type="text_image_proj",
        cross_attention_dim=K21_EMBED_DIM,
        addition_embed_type="text_image",
        **unet_kwargs(),
    )


def _k21_scheduler() -> DDIMScheduler:
    """The DDIM configuration of the Kandinsky 2.1 hub decoders."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="epsilon",
        thresholding=False,
    )


def build(parts: TinyParts) -> dict[str, str]:
    """Save the tiny Kandinsky 2.1 prior and decoders; return their registry entry."""
    out_dir, movq, seed = parts.out_dir, parts.movq, parts.seed
    prior_folder = out_dir / "k21-prior"
    save_prior(KandinskyPriorPipeline, prior_folder, K21_EMBED_DIM, seed)
    tokenizer = xlm_roberta_tokenizer()
    text_encoder = _mclip_text_encoder(tokenizer, seed)
    decoders: tuple[tuple[str, Any, int, str], ...] = (
        ("k21-decoder", KandinskyPipeline, LATENT_CHANNELS, "Kandinsky 2.1 decoder"),
        ("k21-inpaint", KandinskyInpaintPipeline, INPAINT_CHANNELS, "Kandinsky 2.1 inpainting"),
    )
    for name, pipeline_class, in_channels, title in decoders:
        pipeline = pipeline_class(
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=_unet21(in_channels, seed),
            scheduler=_k21_scheduler(),
            movq=movq,
        )
        save_pipeline(pipeline, out_dir / name)
        write_decoder_card(out_dir / name, prior_folder, title)
    return {"prior": "k21-prior", "text2img": "k21-decoder", "inpaint": "k21-inpaint"}


TINY = TinyBuilder(build=build)
