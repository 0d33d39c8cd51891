"""The real-size Kandinsky 2.2, 3 and 5 architectures, small versions of them, and builders.

`REAL` holds the configs of the hub checkpoints kandinsky-community/kandinsky-2-2-prior,
kandinsky-community/kandinsky-2-2-decoder and kandinsky-community/kandinsky-3, transcribed
from their config.json files (not read from the hub: nothing here downloads anything), and
those of Kandinsky 5's text to image (`real_size_k5`); `TINY` is the same architectures,
narrow and shallow, for a CPU. The builders make the diffusers pipelines with random weights
directly on a device, with the project's small local tokenizers (`generation.engine.tiny`);
the embedding tables keep the configs' vocabulary sizes. `BuiltCache` is the engine's
pipeline cache with these builders in place of `from_pretrained`, so the engine applies its
speed options as it does in the bot; quantized weights (`KBOT_QUANTIZE`) come only through
`from_pretrained`, so for them the built pipeline is saved once to a scratch folder and
loaded back by the engine itself. Used by `gpu_real_size.py`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    DDPMScheduler,
    Kandinsky3Pipeline,
    Kandinsky3UNet,
    KandinskyV22Pipeline,
    KandinskyV22PriorPipeline,
    PriorTransformer,
    UnCLIPScheduler,
    UNet2DConditionModel,
    VQModel,
)
from transformers import (
    CLIPImageProcessorPil,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    T5Config,
    T5EncoderModel,
)

from benchmarks.building import Config, made_on, ready, vocab
from benchmarks.real_size_k5 import K5_REAL, K5_SMALLER, build_k5_t2i
from generation.engine.cache import EngineOptions, Load, PipelineCache
from generation.engine.checkpoints import ModelRegistry
from generation.engine.tiny import clip_tokenizer, t5_tokenizer
from generation.families import Checkpoint

# --- the hub checkpoints' configs (transcribed) -----------------------------------------------
MOVQ_BLOCKS: Config = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "vq_embed_dim": 4,
    "down_block_types": ["DownEncoderBlock2D"] * 3 + ["AttnDownEncoderBlock2D"],
    "up_block_types": ["AttnUpDecoderBlock2D"] + ["UpDecoderBlock2D"] * 3,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "norm_type": "spatial",
    "num_vq_embeddings": 16384,
    "act_fn": "silu",
    "sample_size": 32,
    "scaling_factor": 0.18215,
}
REAL: dict[str, Config] = {
    # kandinsky-2-2-prior: prior/, text_encoder/ and image_encoder/ (CLIP ViT-bigG-14)
    "prior": {
        "num_attention_heads": 32,
        "attention_head_dim": 64,
        "num_layers": 20,
        "embedding_dim": 1280,
        "num_embeddings": 77,
        "additional_embeddings": 4,
        "dropout": 0.0,
        "time_embed_act_fn": "silu",
        "encoder_hid_proj_type": "linear",
        "added_emb_type": "prd",
    },
    "clip_text": {
        "vocab_size": 49408,
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "projection_dim": 1280,
        "num_hidden_layers": 32,
        "num_attention_heads": 20,
        "max_position_embeddings": 77,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
    },
    "clip_vision": {
        "hidden_size": 1664,
        "intermediate_size": 8192,
        "projection_dim": 1280,
        "num_hidden_layers": 48,
        "num_attention_heads": 16,
        "image_size": 224,
        "patch_size": 14,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
    },
    "prior_scheduler": {
        "num_train_timesteps": 1000,
        "variance_type": "fixed_small_log",
        "prediction_type": "sample",
        "clip_sample": True,
        "clip_sample_range": 10.0,
    },
    # kandinsky-2-2-decoder: unet/ and movq/
    "unet22": {
        "in_channels": 4,
        "out_channels": 8,
        "block_out_channels": [384, 768, 1152, 1536],
        "layers_per_block": 3,
        "down_block_types": ["ResnetDownsampleBlock2D"] + ["SimpleCrossAttnDownBlock2D"] * 3,
        "up_block_types": ["SimpleCrossAttnUpBlock2D"] * 3 + ["ResnetUpsampleBlock2D"],
        "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
        "attention_head_dim": 64,
        "cross_attention_dim": 768,
        "encoder_hid_dim": 1280,
        "encoder_hid_dim_type": "image_proj",
        "addition_embed_type": "image",
        "addition_embed_type_num_heads": 64,
        "resnet_time_scale_shift": "scale_shift",
        "class_embed_type": None,
        "norm_num_groups": 32,
        "norm_eps": 1e-5,
        "act_fn": "silu",
        "sample_size": 64,
    },
    "movq22": {**MOVQ_BLOCKS, "block_out_channels": [128, 256, 256, 512]},
    "decoder_scheduler": {
        "num_train_timesteps": 1000,
        "beta_schedule": "linear",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "clip_sample": False,
        "steps_offset": 1,
        "prediction_type": "epsilon",
        "variance_type": "fixed_small",
    },
    # kandinsky-3: text_encoder/ (the encoder of Flan-UL2), unet/ and movq/
    "t5": {
        "vocab_size": 32128,
        "d_model": 4096,
        "d_kv": 256,
        "d_ff": 16384,
        "num_layers": 32,
        "num_heads": 16,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "feed_forward_proj": "gated-silu",
        "layer_norm_epsilon": 1e-6,
        "is_encoder_decoder": False,
        "use_cache": False,
    },
    "unet3": {
        "in_channels": 4,
        "time_embedding_dim": 1536,
        "groups": 32,
        "attention_head_dim": 64,
        "layers_per_block": 3,
        "block_out_channels": [384, 768, 1536, 3072],
        "cross_attention_dim": 4096,
        "encoder_hid_dim": 4096,
    },
    "movq3": {**MOVQ_BLOCKS, "block_out_channels": [256, 512, 512, 1024]},
    "k3_scheduler": {
        "num_train_timesteps": 1000,
        "beta_schedule": "linear",
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "clip_sample": False,
        "prediction_type": "epsilon",
        "variance_type": "fixed_small",
    },
}
# The same architectures, narrow and shallow: what `--scale tiny` changes. A vocabulary size of
# None is the local tokenizer's own.
_SMALLER: dict[str, Config] = {
    "prior": {
        "num_attention_heads": 2,
        "attention_head_dim": 16,
        "num_layers": 1,
        "embedding_dim": 32,
    },
    "clip_text": {
        "vocab_size": None,
        "hidden_size": 32,
        "intermediate_size": 64,
        "projection_dim": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
    },
    "clip_vision": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "projection_dim": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "image_size": 32,
        "patch_size": 8,
    },
    "unet22": {
        "block_out_channels": [32, 64],
        "down_block_types": ["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"],
        "up_block_types": ["SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"],
        "layers_per_block": 1,
        "attention_head_dim": 8,
        "cross_attention_dim": 32,
        "encoder_hid_dim": 32,
        "addition_embed_type_num_heads": 4,
    },
    "movq22": {"block_out_channels": [32, 32, 32, 32], "layers_per_block": 1},
    "t5": {
        "vocab_size": None,
        "d_model": 32,
        "d_kv": 8,
        "d_ff": 64,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
    },
    "unet3": {
        "block_out_channels": [32, 64],
        "layers_per_block": 2,
        "time_embedding_dim": 32,
        "groups": 8,
        "attention_head_dim": 8,
        "cross_attention_dim": 32,
        "encoder_hid_dim": 32,
    },
    "movq3": {"block_out_channels": [32, 32, 32, 32], "layers_per_block": 1},
}
REAL |= K5_REAL
_SMALLER |= K5_SMALLER
TINY: dict[str, Config] = {
    name: {**config, **_SMALLER.get(name, {})} for name, config in REAL.items()
}
SCALES = {"real": REAL, "tiny": TINY}


# --- building ---------------------------------------------------------------------------------
def build_prior(c: dict[str, Config], device: torch.device, dtype: torch.dtype) -> Any:
    """KandinskyV22PriorPipeline: prior transformer and the CLIP text and image towers."""
    tokenizer = clip_tokenizer()
    ids = {name: getattr(tokenizer, name) for name in ("bos_token_id", "eos_token_id")}
    ids["pad_token_id"] = tokenizer.pad_token_id
    with made_on(device, dtype):
        prior = PriorTransformer.from_config(c["prior"])
        text = CLIPTextModelWithProjection(
            CLIPTextConfig(**vocab(c["clip_text"], tokenizer), **ids)
        )
        image = CLIPVisionModelWithProjection(CLIPVisionConfig(**c["clip_vision"]))
    with torch.no_grad():  # un-normalisation of the output: identity, not the all-zero default
        prior.clip_std.fill_(1.0)
    side = c["clip_vision"]["image_size"]
    return KandinskyV22PriorPipeline(
        prior=ready(prior),
        image_encoder=ready(image),
        text_encoder=ready(text),
        tokenizer=tokenizer,
        scheduler=UnCLIPScheduler.from_config(c["prior_scheduler"]),
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": side}, crop_size={"height": side, "width": side}
        ),
    )


def build_decoder22(c: dict[str, Config], device: torch.device, dtype: torch.dtype) -> Any:
    """KandinskyV22Pipeline: the image-conditioned UNet and the MoVQ."""
    with made_on(device, dtype):
        unet = UNet2DConditionModel.from_config(c["unet22"])
        movq = VQModel.from_config(c["movq22"])
    scheduler = DDPMScheduler.from_config(c["decoder_scheduler"])
    return KandinskyV22Pipeline(unet=ready(unet), scheduler=scheduler, movq=ready(movq))


def build_k3(c: dict[str, Config], device: torch.device, dtype: torch.dtype) -> Any:
    """Kandinsky3Pipeline: the T5 encoder, Kandinsky3UNet and the MoVQ."""
    tokenizer = t5_tokenizer()
    ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    with made_on(device, dtype):
        text = T5EncoderModel(T5Config(**vocab(c["t5"], tokenizer), **ids))
        unet = Kandinsky3UNet.from_config(c["unet3"])
        movq = VQModel.from_config(c["movq3"])
    return Kandinsky3Pipeline(
        tokenizer=tokenizer,
        text_encoder=ready(text),
        unet=ready(unet),
        scheduler=DDPMScheduler.from_config(c["k3_scheduler"]),
        movq=ready(movq),
    )


Builder = Callable[[dict[str, Config], torch.device, torch.dtype], Any]
BUILDERS: dict[tuple[str, str], Builder] = {
    ("2.2", "prior"): build_prior,
    ("2.2", "text2img"): build_decoder22,
    ("3", "text2img"): build_k3,
    ("5", "text2img"): build_k5_t2i,
}
FAMILIES = tuple(dict.fromkeys(family for family, _ in BUILDERS))


class BuiltCache(PipelineCache):
    """The engine's pipeline cache, with each checkpoint built in memory instead of loaded.

    Everything else (the device and dtype it resolves from the options, how it applies
    offload, channels_last and `torch.compile`) is the engine's own. With quantized weights
    the pipeline is built, saved under `scratch` (once per checkpoint) and loaded back through
    the engine's `from_pretrained`, which quantizes it as in the bot.
    """

    def __init__(self, options: EngineOptions, configs: dict[str, Config], scratch: Path) -> None:
        saved: dict[str, dict[str, Checkpoint]] = {}
        for family, role in BUILDERS:
            saved.setdefault(family, {})[role] = Checkpoint(str(scratch / f"{family}-{role}"))
        super().__init__(ModelRegistry(checkpoints=saved), options)
        self.configs = configs

    def _load(self, family: str, spec: Load) -> Any:
        dtype = self.options.dtype(getattr(torch, spec.half))
        build = BUILDERS[(family, spec.checkpoint)]
        if self.options.quantize != "none":
            folder = Path(self.registry.get(family, spec.checkpoint).id)
            if not (folder / "model_index.json").is_file():
                build(self.configs, self.device, dtype).save_pretrained(folder)
                self.release()
            return super()._load(family, spec)
        pipe = build(self.configs, self.device, dtype)
        self.loads += 1
        self._apply_options(pipe, spec)
        return pipe

    def release(self) -> None:
        """Give back the memory of what is no longer referenced."""
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def parameter_counts(scale: str) -> dict[str, int]:
    """Each built component's parameters, made on the meta device (no memory, no init)."""
    counts: dict[str, int] = {}
    for (family, role), build in BUILDERS.items():
        pipe = build(SCALES[scale], torch.device("meta"), torch.float32)
        for name, part in pipe.components.items():
            if isinstance(part, torch.nn.Module):
                counts[f"{family} {role} {name}"] = sum(p.numel() for p in part.parameters())
    return counts
