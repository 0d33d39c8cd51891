"""Tiny, randomly initialised Kandinsky checkpoints for tests and offline development.

:func:`build_tiny_models` writes a set of pipeline folders with ``save_pretrained`` (safetensors),
so they load back through the ordinary ``from_pretrained`` path exactly like the production
checkpoints from the hub, plus a ``registry.json`` that names them:

* ``k21-prior`` / ``k21-decoder`` / ``k21-inpaint`` -- Kandinsky 2.1
* ``k22-prior`` / ``k22-decoder`` / ``k22-inpaint`` / ``k22-controlnet-depth`` -- Kandinsky 2.2
* ``k3`` -- Kandinsky 3
* ``depth`` -- a transformers depth estimator for the ControlNet hint

Everything is random: the images are noise, but shapes, dtypes, tokenisation and the whole
loading and calling machinery are those of the real models.  Every decoder's ``README.md``
names its family's prior (absolute path) in the model card metadata, which is how diffusers'
combined / Auto pipelines find the prior of a decoder offline.
"""

from __future__ import annotations

import json
import pathlib
import string
from typing import Any

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    Kandinsky3Pipeline,
    Kandinsky3UNet,
    KandinskyInpaintPipeline,
    KandinskyPipeline,
    KandinskyPriorPipeline,
    KandinskyV22ControlnetPipeline,
    KandinskyV22InpaintPipeline,
    KandinskyV22Pipeline,
    KandinskyV22PriorPipeline,
    PriorTransformer,
    UnCLIPScheduler,
    UNet2DConditionModel,
    VQModel,
)
from diffusers.pipelines.kandinsky.text_encoder import MCLIPConfig, MultilingualCLIP
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
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
    XLMRobertaTokenizer,
)

__all__ = ["build_tiny_models"]

# --- dimensions -------------------------------------------------------------------------------
# The families get different image-embedding sizes (like the real 768 / 1280) so that a 2.1
# prior wired to a 2.2 decoder (or the other way round) fails loudly instead of "working".
K21_EMBED_DIM = 32  # CLIP projection = prior embedding = 2.1 UNet cross_attention_dim
K22_EMBED_DIM = 48  # CLIP projection = prior embedding = 2.2 UNet encoder_hid_dim
MCLIP_HIDDEN = 24  # XLM-R width of the 2.1 text encoder = 2.1 UNet encoder_hid_dim
UNET_CROSS_ATTENTION_DIM = 32  # 2.2 UNet cross attention width (2.1 uses K21_EMBED_DIM)
T5_DIM = 32  # Kandinsky 3 text encoder width = Kandinsky3UNet encoder_hid_dim
CLIP_IMAGE_SIZE = 32
CLIP_MAX_LENGTH = 77  # prior PriorTransformer.num_embeddings == CLIP tokenizer model_max_length
LATENT_CHANNELS = 4
INPAINT_CHANNELS = 2 * LATENT_CHANNELS + 1  # noisy latents + masked-image latents + mask

# Common words that get whole-word tokens, so prompts tokenize into meaningful, varied ids.
_WORDS: tuple[str, ...] = (
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
def _bytes_to_unicode() -> dict[int, str]:
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


def _clip_tokenizer() -> CLIPTokenizer:
    """Byte-level BPE tokenizer: the 256 bytes (plain and word-final) plus whole-word merges."""
    alphabet = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for token in alphabet + [ch + "</w>" for ch in alphabet]:
        vocab[token] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in _WORDS:
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
    pieces += [("▁" + word, -4.0) for word in _WORDS]
    pieces += [("▁" + ch, -9.0) for ch in characters]
    pieces += [(ch, -8.0) for ch in characters]
    return pieces


def _xlm_roberta_tokenizer() -> XLMRobertaTokenizer:
    """XLM-R layout: <s> 0, <pad> 1, </s> 2, <unk> 3, pieces, <mask> last."""
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab = [*specials, *_sentencepiece_pieces(), ("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=512)


def _t5_tokenizer() -> T5Tokenizer:
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


def _unet_kwargs() -> dict[str, Any]:
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


def _unet21(in_channels: int, seed: int) -> UNet2DConditionModel:
    """Kandinsky 2.1 UNet: text hidden states + image embedding projected into the context."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        in_channels=in_channels,
        encoder_hid_dim=MCLIP_HIDDEN,
        encoder_hid_dim_type="text_image_proj",
        cross_attention_dim=K21_EMBED_DIM,
        addition_embed_type="text_image",
        **_unet_kwargs(),
    )


def _unet22(in_channels: int, addition_embed_type: str, seed: int) -> UNet2DConditionModel:
    """Kandinsky 2.2 UNet conditioned on the image embedding only ("image" or "image_hint")."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        in_channels=in_channels,
        encoder_hid_dim=K22_EMBED_DIM,
        encoder_hid_dim_type="image_proj",
        cross_attention_dim=UNET_CROSS_ATTENTION_DIM,
        addition_embed_type=addition_embed_type,
        **_unet_kwargs(),
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


# --- Kandinsky 3 components -------------------------------------------------------------------
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
def _save_pipeline(pipeline: Any, folder: pathlib.Path) -> None:
    """``save_pretrained`` in safetensors (typed loosely: the diffusers pipelines are untyped)."""
    pipeline.save_pretrained(folder, safe_serialization=True)


def _write_decoder_card(folder: pathlib.Path, prior_folder: pathlib.Path, title: str) -> None:
    """Model card whose metadata names the prior, as the hub decoders' cards do."""
    card = (
        f"---\nprior:\n- {prior_folder.resolve()}\n---\n\n"
        f"# {title}\n\nTiny randomly initialised test checkpoint.\n"
    )
    (folder / "README.md").write_text(card, encoding="utf-8")


def _save_prior(pipeline_class: Any, folder: pathlib.Path, dim: int, seed: int) -> None:
    """Build and save a prior pipeline (2.1 and 2.2 priors have the same kinds of parts)."""
    tokenizer = _clip_tokenizer()
    pipeline = pipeline_class(
        prior=_prior_transformer(dim, seed),
        image_encoder=_clip_image_encoder(dim, seed),
        text_encoder=_clip_text_encoder(tokenizer, dim, seed),
        tokenizer=tokenizer,
        scheduler=_prior_scheduler(),
        image_processor=_clip_image_processor(),
    )
    _save_pipeline(pipeline, folder)


def _save_k21(out_dir: pathlib.Path, movq: VQModel, seed: int) -> None:
    """Kandinsky 2.1: prior, text-to-image decoder and inpainting decoder."""
    prior_folder = out_dir / "k21-prior"
    _save_prior(KandinskyPriorPipeline, prior_folder, K21_EMBED_DIM, seed)
    tokenizer = _xlm_roberta_tokenizer()
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
        _save_pipeline(pipeline, out_dir / name)
        _write_decoder_card(out_dir / name, prior_folder, title)


def _save_k22(out_dir: pathlib.Path, movq: VQModel, seed: int) -> None:
    """Kandinsky 2.2: prior, text-to-image, inpainting and depth-ControlNet decoders."""
    prior_folder = out_dir / "k22-prior"
    _save_prior(KandinskyV22PriorPipeline, prior_folder, K22_EMBED_DIM, seed)
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
        _save_pipeline(pipeline, out_dir / name)
        _write_decoder_card(out_dir / name, prior_folder, title)


def _save_k3(out_dir: pathlib.Path, movq: VQModel, seed: int) -> None:
    """Kandinsky 3: T5 text encoder, Kandinsky3UNet and MoVQ in one pipeline."""
    tokenizer = _t5_tokenizer()
    pipeline = Kandinsky3Pipeline(
        tokenizer=tokenizer,
        text_encoder=_t5_encoder(tokenizer, seed),
        unet=_k3_unet(seed),
        scheduler=_k3_scheduler(),
        movq=movq,
    )
    _save_pipeline(pipeline, out_dir / "k3")


def _save_depth(out_dir: pathlib.Path, seed: int) -> None:
    """Depth folder for ``transformers.pipeline("depth-estimation", model=folder)``."""
    folder = out_dir / "depth"
    _depth_model(seed).save_pretrained(folder, safe_serialization=True)
    _depth_processor().save_pretrained(folder)


_REGISTRY: dict[str, Any] = {
    "2.1": {"prior": "k21-prior", "text2img": "k21-decoder", "inpaint": "k21-inpaint"},
    "2.2": {
        "prior": "k22-prior",
        "text2img": "k22-decoder",
        "inpaint": "k22-inpaint",
        "controlnet_depth": "k22-controlnet-depth",
    },
    "3": {"text2img": "k3"},
    "depth_estimator": "depth",
}


def build_tiny_models(out_dir: pathlib.Path, *, seed: int = 0) -> pathlib.Path:
    """Build every tiny checkpoint under out_dir and write out_dir / "registry.json".

    Returns the path of ``registry.json``, which maps families and tasks to folder names
    relative to it.  Deterministic for a given ``seed``; needs no network.  The registry is
    written last (atomically), so its presence means the whole set is complete.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    movq = _movq(seed)  # one MoVQ for every decoder: decoders of a family are interchangeable
    _save_k21(out_dir, movq, seed)
    _save_k22(out_dir, movq, seed)
    _save_k3(out_dir, movq, seed)
    _save_depth(out_dir, seed)
    registry_path = out_dir / "registry.json"
    partial = out_dir / "registry.json.partial"
    partial.write_text(json.dumps(_REGISTRY, indent=2) + "\n", encoding="utf-8")
    partial.replace(registry_path)
    return registry_path
