"""Tiny, randomly initialised Kandinsky checkpoints for tests and offline development.

:func:`build_tiny_models` asks each family of the registry for its tiny checkpoints (the
`TINY` builder of the module its spec names, e.g. `generation.families.k22.tiny`), which it
writes with ``save_pretrained`` (safetensors) so they load back through the ordinary
``from_pretrained`` path exactly like the production checkpoints from the hub. It adds
``depth``, a transformers depth estimator for the ControlNet hint, and a ``registry.json``
that names every folder. This module holds the parts the families share: tokenizers, the
prior's parts, the MoVQ, the UNet layout of the 2.x decoders and the saving helpers.

Everything is random: the images are noise, but shapes, dtypes, tokenisation and the whole
loading and calling machinery are those of the real models.  Every decoder's ``README.md``
names its family's prior (absolute path) in the model card metadata, which is how diffusers'
combined / Auto pipelines find the prior of a decoder offline.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import (
    PriorTransformer,
    UnCLIPScheduler,
    VQModel,
)
from transformers import (
    CLIPImageProcessorPil,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    DPTConfig,
    DPTForDepthEstimation,
    DPTImageProcessorPil,
    T5Tokenizer,
    XLMRobertaTokenizer,
)

from generation.families import DEFAULT_FAMILIES, Families, FamilySpec

__all__ = [
    "COMMON_WORDS",
    "INPAINT_CHANNELS",
    "LATENT_CHANNELS",
    "TinyBuilder",
    "TinyParts",
    "build_tiny_models",
    "byte_alphabet",
    "clip_tokenizer",
    "save_pipeline",
    "save_prior",
    "t5_tokenizer",
    "unet_kwargs",
    "write_decoder_card",
    "xlm_roberta_tokenizer",
]

# --- dimensions -------------------------------------------------------------------------------
# Each family's own widths are in its tiny module; these are the ones they share.
CLIP_IMAGE_SIZE = 32
CLIP_MAX_LENGTH = 77  # prior PriorTransformer.num_embeddings == CLIP tokenizer model_max_length
LATENT_CHANNELS = 4
INPAINT_CHANNELS = 2 * LATENT_CHANNELS + 1  # noisy latents + masked-image latents + mask


@dataclass(frozen=True, slots=True)
class TinyParts:
    """What every family's tiny builder gets: the folder, the seed and the one shared MoVQ."""

    out_dir: pathlib.Path
    movq: VQModel
    seed: int


@dataclass(frozen=True, slots=True)
class TinyBuilder:
    """What a family's tiny module declares as `TINY`.

    `build` saves the family's folders under `parts.out_dir` and returns its entry of
    ``registry.json``: each checkpoint role mapped to a folder name, and ``sizes`` (a list of
    ``WIDTHxHEIGHT``) for a family whose tiny checkpoints make a listed set of sizes.
    """

    build: Callable[[TinyParts], Mapping[str, str | list[str]]]


def load_tiny_builder(spec: FamilySpec) -> TinyBuilder:
    """Import the tiny module `spec` names and return its `TINY`."""
    builder = getattr(importlib.import_module(spec.tiny), "TINY", None)
    if not isinstance(builder, TinyBuilder):
        raise TypeError(f"{spec.tiny} must declare TINY, a TinyBuilder")
    return builder


# Common words that get whole-word tokens, so prompts tokenize into meaningful, varied ids.
COMMON_WORDS: tuple[str, ...] = (
    *("a", "an", "the", "of", "in", "on", "at", "with", "and", "or", "to", "by", "for", "from"),
    *("is", "are", "it", "this", "that", "cat", "dog", "fox", "bird", "fish", "horse", "tree"),
    *("forest", "sea", "sky", "sun", "moon", "city", "house", "car", "man", "woman", "girl", "boy"),
    *("red", "green", "blue", "yellow", "black", "white", "orange", "purple", "pink", "gold"),
    *("photo", "painting", "portrait", "landscape", "art", "style", "oil", "watercolor", "sketch"),
    *("4k", "hd", "realistic", "beautiful", "big", "small", "old", "new", "dark", "light"),
    *("night", "day", "winter", "summer"),
)
_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"


# --- tokenizers -------------------------------------------------------------------------------
def byte_alphabet() -> dict[int, str]:
    """GPT-2 / CLIP byte-level alphabet: every byte mapped to a printable unicode character."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def clip_tokenizer() -> CLIPTokenizer:
    """Byte-level BPE tokenizer: the 256 bytes (plain and word-final) plus whole-word merges."""
    alphabet = list(byte_alphabet().values())
    vocab: dict[str, int] = {}
    for token in alphabet + [ch + "</w>" for ch in alphabet]:
        vocab[token] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in COMMON_WORDS:
        if len(word) < 2:
            continue
        symbols = [*word[:-1], word[-1] + "</w>"]
        merged = symbols[0]
        for symbol in symbols[1:]:
            pair = (merged, symbol)
            merged += symbol
            if pair not in merges:
                merges.append(pair)
                vocab.setdefault(merged, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    # tokenizers' BPE wants (left, right) tuples; transformers annotates the argument as list[str].
    bpe_merges: Any = merges
    return CLIPTokenizer(vocab=vocab, merges=bpe_merges, model_max_length=CLIP_MAX_LENGTH)


def _sentencepiece_pieces() -> list[tuple[str, float]]:
    """Unigram pieces for the XLM-R and T5 tokenizers: words, characters, '▁'-prefixed ones."""
    characters = (
        string.ascii_letters + string.digits + string.punctuation + _CYRILLIC + _CYRILLIC.upper()
    )
    pieces: list[tuple[str, float]] = [("▁", -2.0)]
    pieces += [("▁" + word, -4.0) for word in COMMON_WORDS]
    pieces += [("▁" + ch, -9.0) for ch in characters]
    pieces += [(ch, -8.0) for ch in characters]
    return pieces


def xlm_roberta_tokenizer() -> XLMRobertaTokenizer:
    """XLM-R layout: <s> 0, <pad> 1, </s> 2, <unk> 3, pieces, <mask> last."""
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab = [*specials, *_sentencepiece_pieces(), ("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=512)


def t5_tokenizer() -> T5Tokenizer:
    """T5 layout: <pad> 0, </s> 1, <unk> 2, pieces; no sentinel tokens."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *_sentencepiece_pieces()]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


# --- prior components -------------------------------------------------------------------------
def _clip_text_encoder(
    tokenizer: CLIPTokenizer, dim: int, seed: int
) -> CLIPTextModelWithProjection:
    """CLIP text tower; width == projection == prior embedding dim (the prior projects both)."""
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=dim,
        intermediate_size=2 * dim,
        projection_dim=dim,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=CLIP_MAX_LENGTH,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModelWithProjection(config)


def _clip_image_encoder(dim: int, seed: int) -> CLIPVisionModelWithProjection:
    """CLIP vision tower on 32x32 images with an image embedding of ``dim``."""
    torch.manual_seed(seed)
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        projection_dim=dim,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=CLIP_IMAGE_SIZE,
        patch_size=8,
    )
    return CLIPVisionModelWithProjection(config)


def _clip_image_processor() -> CLIPImageProcessorPil:
    """CLIP preprocessing (resize, centre crop, normalise) to the vision tower's 32x32 input."""
    return CLIPImageProcessorPil(
        size={"shortest_edge": CLIP_IMAGE_SIZE},
        crop_size={"height": CLIP_IMAGE_SIZE, "width": CLIP_IMAGE_SIZE},
    )


def _prior_transformer(dim: int, seed: int) -> PriorTransformer:
    """Prior over image embeddings; clip_std is ones so outputs are not collapsed to clip_mean."""
    torch.manual_seed(seed)
    prior = PriorTransformer(
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=1,
        embedding_dim=dim,
        num_embeddings=CLIP_MAX_LENGTH,
        additional_embeddings=4,
    )
    with torch.no_grad():  # un-normalisation of the output: identity, not the all-zero default
        for name, value in (("clip_mean", 0.0), ("clip_std", 1.0)):
            getattr(prior, name).fill_(value)
    return prior


def _prior_scheduler() -> UnCLIPScheduler:
    """The hub priors' scheduler configuration."""
    return UnCLIPScheduler(
        variance_type="fixed_small_log",
        prediction_type="sample",
        num_train_timesteps=1000,
        clip_sample=True,
        clip_sample_range=10.0,
    )


# --- decoder components -----------------------------------------------------------------------
def _movq(seed: int) -> VQModel:
    """MoVQ with four levels (spatial scale factor 8, like the real one) and 4 latent channels."""
    torch.manual_seed(seed)
    return VQModel(
        in_channels=3,
        out_channels=3,
        down_block_types=(
            "DownEncoderBlock2D",
            "DownEncoderBlock2D",
            "DownEncoderBlock2D",
            "AttnDownEncoderBlock2D",
        ),
        up_block_types=(
            "AttnUpDecoderBlock2D",
            "UpDecoderBlock2D",
            "UpDecoderBlock2D",
            "UpDecoderBlock2D",
        ),
        block_out_channels=(32, 32, 32, 32),
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        vq_embed_dim=LATENT_CHANNELS,
        num_vq_embeddings=12,
        norm_num_groups=32,
        norm_type="spatial",
        sample_size=32,
    )


def unet_kwargs() -> dict[str, Any]:
    """Architecture shared by the 2.1 and 2.2 UNets (the real ones, cut to two levels)."""
    return {
        "out_channels": 2 * LATENT_CHANNELS,  # learned variance; the pipelines split it off
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "down_block_types": ("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        "up_block_types": ("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
        "attention_head_dim": 8,
        "norm_num_groups": 32,
        "resnet_time_scale_shift": "scale_shift",
        "class_embed_type": None,
        "sample_size": 8,
    }


# --- depth estimator --------------------------------------------------------------------------
def _depth_model(seed: int) -> DPTForDepthEstimation:
    """DPT (ViT backbone) on 32x32 inputs with a four-stage neck."""
    torch.manual_seed(seed)
    config = DPTConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
        backbone_out_indices=(0, 1, 2, 3),
        neck_hidden_sizes=(16, 16, 32, 32),
        fusion_hidden_size=16,
        use_auxiliary_head=False,
    )
    return DPTForDepthEstimation(config)


def _depth_processor() -> DPTImageProcessorPil:
    """DPT preprocessing: plain resize to 32x32 and normalisation to [-1, 1]."""
    return DPTImageProcessorPil(
        size={"height": 32, "width": 32},
        keep_aspect_ratio=False,
        ensure_multiple_of=1,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


# --- folders ----------------------------------------------------------------------------------
def save_pipeline(pipeline: Any, folder: pathlib.Path) -> None:
    """``save_pretrained`` in safetensors (typed loosely: the diffusers pipelines are untyped)."""
    pipeline.save_pretrained(folder, safe_serialization=True)


def write_decoder_card(folder: pathlib.Path, prior_folder: pathlib.Path, title: str) -> None:
    """Model card whose metadata names the prior, as the hub decoders' cards do."""
    card = (
        f"---\nprior:\n- {prior_folder.resolve()}\n---\n\n"
        f"# {title}\n\nTiny randomly initialised test checkpoint.\n"
    )
    (folder / "README.md").write_text(card, encoding="utf-8")


def save_prior(pipeline_class: Any, folder: pathlib.Path, dim: int, seed: int) -> None:
    """Build and save a prior pipeline (2.1 and 2.2 priors have the same kinds of parts)."""
    tokenizer = clip_tokenizer()
    pipeline = pipeline_class(
        prior=_prior_transformer(dim, seed),
        image_encoder=_clip_image_encoder(dim, seed),
        text_encoder=_clip_text_encoder(tokenizer, dim, seed),
        tokenizer=tokenizer,
        scheduler=_prior_scheduler(),
        image_processor=_clip_image_processor(),
    )
    save_pipeline(pipeline, folder)


def _save_depth(out_dir: pathlib.Path, seed: int) -> None:
    """Depth folder for ``transformers.pipeline("depth-estimation", model=folder)``."""
    folder = out_dir / "depth"
    _depth_model(seed).save_pretrained(folder, safe_serialization=True)
    _depth_processor().save_pretrained(folder)


def build_tiny_models(
    out_dir: pathlib.Path, *, seed: int = 0, families: Families = DEFAULT_FAMILIES
) -> pathlib.Path:
    """Build every tiny checkpoint under out_dir and write out_dir / "registry.json".

    Returns the path of ``registry.json``, which maps families and roles to folder names
    relative to it.  Deterministic for a given ``seed``; needs no network.  The registry is
    written last (atomically), so its presence means the whole set is complete.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    movq = _movq(seed)  # one MoVQ for every decoder: decoders of a family are interchangeable
    parts = TinyParts(out_dir=out_dir, movq=movq, seed=seed)
    registry: dict[str, Any] = {
        spec.name: load_tiny_builder(spec).build(parts) for spec in families
    }
    _save_depth(out_dir, seed)
    registry["depth_estimator"] = "depth"
    registry_path = out_dir / "registry.json"
    partial = out_dir / "registry.json.partial"
    partial.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    partial.replace(registry_path)
    return registry_path
