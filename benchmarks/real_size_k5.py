"""Kandinsky 5 at real size for the GPU benchmark: the T2I Lite pipeline's parts and a builder.

`K5_REAL` holds the configs of the parts of kandinskylab/Kandinsky-5.0-T2I-Lite-sft-Diffusers,
written out here (nothing is read from the hub): its diffusion transformer (the `dit_params`
of the Kandinsky 5 repository's configs/config_t2i.yaml: model_dim 2560, 50 visual blocks,
6.0B parameters), the Qwen2.5-VL-7B-Instruct text encoder (8.3B with its vision tower and
output head), the text tower of CLIP ViT-L/14 (123M) and the FLUX.1 VAE (84M, 16 latent
channels). `K5_SMALLER` is what `--scale tiny` changes, as in the tiny checkpoints
(`generation.families.k5.tiny`). The builder makes `Kandinsky5T2IPipeline` with random weights
directly on a device, with the tiny checkpoints' local tokenizers; the embedding tables keep
the configs' vocabulary sizes. The scheduler's settings do not change what a step costs.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    Kandinsky5T2IPipeline,
    Kandinsky5Transformer3DModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
)

from benchmarks.building import Config, made_on, ready, vocab
from generation.engine.tiny import clip_tokenizer
from generation.families.k5.tiny import qwen_processor, special_token_ids

K5_REAL: dict[str, Config] = {
    # transformer/
    "k5_transformer": {
        "in_visual_dim": 16,
        "out_visual_dim": 16,
        "in_text_dim": 3584,
        "in_text_dim2": 768,
        "time_dim": 512,
        "patch_size": (1, 2, 2),
        "model_dim": 2560,
        "ff_dim": 10240,
        "num_text_blocks": 2,
        "num_visual_blocks": 50,
        "axes_dims": (32, 48, 48),
        "visual_cond": False,
        "attention_type": "regular",
    },
    # text_encoder/ (Qwen2.5-VL-7B-Instruct)
    "qwen_text": {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "hidden_act": "silu",
        "tie_word_embeddings": False,
    },
    "qwen_vision": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "in_chans": 3,
        "hidden_act": "silu",
    },
    # text_encoder_2/ (the text tower of CLIP ViT-L/14)
    "clip_l": {
        "vocab_size": 49408,
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "max_position_embeddings": 77,
        "hidden_act": "quick_gelu",
        "projection_dim": 768,
    },
    # vae/ (FLUX.1)
    "flux_vae": {
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 16,
        "down_block_types": ["DownEncoderBlock2D"] * 4,
        "up_block_types": ["UpDecoderBlock2D"] * 4,
        "block_out_channels": [128, 256, 512, 512],
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "act_fn": "silu",
        "mid_block_add_attention": True,
        "sample_size": 1024,
        "scaling_factor": 0.3611,
        "shift_factor": 0.1159,
        "use_quant_conv": False,
        "use_post_quant_conv": False,
        "force_upcast": True,
    },
}
K5_SMALLER: dict[str, Config] = {
    "k5_transformer": {
        "in_text_dim": 32,
        "in_text_dim2": 16,
        "time_dim": 16,
        "model_dim": 16,
        "ff_dim": 32,
        "num_text_blocks": 1,
        "num_visual_blocks": 2,
        "axes_dims": (1, 1, 2),
    },
    "qwen_text": {
        "vocab_size": None,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 2, 4]},
    },
    "qwen_vision": {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 32,
        "fullatt_block_indexes": [1],
    },
    "clip_l": {
        "vocab_size": None,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "projection_dim": 16,
    },
    "flux_vae": {"block_out_channels": [8, 8, 8, 8], "layers_per_block": 1, "norm_num_groups": 4},
}


def build_k5_t2i(c: dict[str, Config], device: torch.device, dtype: torch.dtype) -> Any:
    """Kandinsky5T2IPipeline: the transformer, Qwen2.5-VL, CLIP's text tower and the VAE."""
    processor = qwen_processor()
    qwen_ids = special_token_ids(processor.tokenizer)
    second = clip_tokenizer()
    clip_ids = {
        "bos_token_id": second.bos_token_id,
        "eos_token_id": second.eos_token_id,
        "pad_token_id": second.pad_token_id,
    }
    text = {
        **vocab(c["qwen_text"], processor.tokenizer),
        "bos_token_id": None,
        "eos_token_id": qwen_ids.pop("eos_token_id"),
        "pad_token_id": qwen_ids.pop("pad_token_id"),
    }
    with made_on(device, dtype):
        transformer = Kandinsky5Transformer3DModel(**c["k5_transformer"])
        qwen = Qwen2_5_VLForConditionalGeneration(
            Qwen2_5_VLConfig(text_config=text, vision_config=c["qwen_vision"], **qwen_ids)
        )
        clip = CLIPTextModel(CLIPTextConfig(**vocab(c["clip_l"], second), **clip_ids))
        vae = AutoencoderKL(**c["flux_vae"])
    return Kandinsky5T2IPipeline(
        transformer=ready(transformer),
        vae=ready(vae),
        text_encoder=ready(qwen),
        tokenizer=processor,
        text_encoder_2=ready(clip),
        tokenizer_2=second,
        scheduler=FlowMatchEulerDiscreteScheduler(),
    )
