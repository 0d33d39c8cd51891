"""Tiny random Kandinsky 5 checkpoints: text to image (`k5-t2i`) and editing (`k5-edit`).

Both folders hold the same text encoders (a Qwen2.5-VL and a CLIP text model, so the engine
may share them as it shares the real ones), the same Flux-like VAE (16 latent channels, the
8x scale the pipelines assume) and each its own `Kandinsky5Transformer3DModel`, all loaded
back with the ordinary `from_pretrained`.

The Qwen tokenizer is a byte-level BPE trained here by a small deterministic trainer (the
`tokenizers` trainer numbers tokens differently from one process to the next). The pipelines
cut the Qwen hidden states at a fixed token index (`prompt_template_encode_start_idx`: 40 for
text to image, 54 for editing), so the trainer makes each template's part before the prompt
exactly that many tokens: then the prompt's tokens, all of them, are what conditions the
picture. The transformers' modulation layers start at zero, which would make prompt, negative
prompt and guidance change nothing; they are drawn at random here.

The tiny models make the sizes `TINY_SIZES` (the registry file says so): the real list's
aspect ratios at an eighth of its sides, with the square at 64x64, so tests run small and
the nearest-aspect choice is the real one's.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    Kandinsky5I2IPipeline,
    Kandinsky5T2IPipeline,
    Kandinsky5T2VPipeline,
    Kandinsky5Transformer3DModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Tokenizer,
    Qwen2VLImageProcessorPil,
)

from generation.engine.tiny import (
    COMMON_WORDS,
    TinyBuilder,
    TinyParts,
    byte_alphabet,
    clip_tokenizer,
    save_pipeline,
)
from generation.families.k5.processor import ImageOnlyQwenProcessor

TINY_SIZES = ((64, 64), (80, 176), (176, 80), (96, 160), (160, 96), (112, 144), (144, 112))
"""The (width, height) sizes the tiny checkpoints make."""

QWEN_DIM = 32  # Qwen2.5-VL text width = the transformer's in_text_dim
CLIP_DIM = 16  # CLIP text width = the transformer's in_text_dim2
LATENTS = 16  # Flux VAE latent channels
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
_SPECIAL = re.compile("(" + "|".join(re.escape(token) for token in SPECIAL_TOKENS) + ")")

Pair = tuple[str, str]


# --- the Qwen tokenizer -----------------------------------------------------------------------
def _merge(pieces: list[str], pair: Pair) -> list[str]:
    """`pieces` with every occurrence of `pair` joined, left to right."""
    out: list[str] = []
    index = 0
    while index < len(pieces):
        if index + 1 < len(pieces) and (pieces[index], pieces[index + 1]) == pair:
            out.append(pieces[index] + pieces[index + 1])
            index += 2
        else:
            out.append(pieces[index])
            index += 1
    return out


class _BpeTrainer:
    """Byte-level BPE merges learned by repeatedly joining the most frequent adjacent pair.

    Ties go to the smallest pair, so the merges (and the token ids) are the same in every
    process. `train` may be given a floor: a word sequence whose token count no merge may take
    below a number, and training stops once the count is that number.
    """

    def __init__(self) -> None:
        self.merges: list[Pair] = []
        self._pieces: dict[str, list[str]] = {}

    def pieces(self, word: str) -> list[str]:
        """The tokens `word` (a byte-level pre-token) splits into with the merges so far."""
        if word not in self._pieces:
            pieces = list(word)
            for pair in self.merges:
                pieces = _merge(pieces, pair)
            self._pieces[word] = pieces
        return self._pieces[word]

    def train(self, words: Sequence[str], floor: tuple[Sequence[str], int] | None = None) -> None:
        """Learn merges over `words` until each is one token (or the floor is reached)."""
        counts = Counter(words)
        for word in (*counts, *(floor[0] if floor else ())):
            self.pieces(word)
        while floor is None or self._count(floor[0], self._pieces) > floor[1]:
            pairs: Counter[Pair] = Counter()
            for word, count in counts.items():
                pieces = self._pieces[word]
                for pair in itertools.pairwise(pieces):
                    pairs[pair] += count
            for pair, _ in sorted(pairs.items(), key=lambda item: (-item[1], item[0])):
                trial = {word: _merge(pieces, pair) for word, pieces in self._pieces.items()}
                if floor is None or self._count(floor[0], trial) >= floor[1]:
                    break
            else:
                return
            self.merges.append(pair)
            self._pieces = trial

    @staticmethod
    def _count(words: Sequence[str], pieces: dict[str, list[str]]) -> int:
        """How many tokens `words` make, split as `pieces` says."""
        return sum(len(pieces[word]) for word in words)


def qwen_tokenizer(*, video: bool = False) -> Qwen2Tokenizer:
    """The tiny Qwen2 tokenizer: byte-level BPE over the pipelines' templates and common words.

    For the image pipelines (text to image and editing), or with `video` for the video ones
    (both video pipelines share one template).
    """
    alphabet = {symbol: index for index, symbol in enumerate(byte_alphabet().values())}
    # The bytes alone: its pre-tokenizer (Qwen2's split and byte-level mapping) is the one used.
    pre_tokenizer = Qwen2Tokenizer(vocab=alphabet, merges=[]).backend_tokenizer.pre_tokenizer

    def pre_tokens(text: str) -> list[str]:
        """Byte-level pre-tokens of `text`, special tokens kept whole."""
        out: list[str] = []
        for part in _SPECIAL.split(text):
            if part in SPECIAL_TOKENS:
                out.append(part)
            elif part:
                out += [piece for piece, _ in pre_tokenizer.pre_tokenize_str(part)]
        return out

    def words(text: str) -> list[str]:
        return [word for word in pre_tokens(text) if word not in SPECIAL_TOKENS]

    def floor(template: tuple[str, int]) -> tuple[list[str], int]:
        """The template's words before the prompt, and how many tokens they must make."""
        prefix = pre_tokens(template[0].split("{}")[0])
        prefix_words = [word for word in prefix if word not in SPECIAL_TOKENS]
        return prefix_words, template[1] - (len(prefix) - len(prefix_words))

    trainer = _BpeTrainer()
    common = [word for item in COMMON_WORDS for word in words(item) + words(" " + item)]
    if video:
        templates: tuple[tuple[str, int], ...] = (_template(Kandinsky5T2VPipeline),)
        # its words and the common ones, merged no further than its prefix length allows
        trainer.train(words(templates[0][0].format("")) + common, floor=floor(templates[0]))
    else:
        text2img, edit = _template(Kandinsky5T2IPipeline), _template(Kandinsky5I2IPipeline)
        templates = (text2img, edit)
        trainer.train(words(text2img[0].format("")) + common)
        # the editing template's own words, merged no further than its prefix length allows
        trainer.train(words(edit[0].format("")), floor=floor(edit))
    vocab = dict(alphabet)
    for left, right in trainer.merges:
        vocab.setdefault(left + right, len(vocab))
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    # tokenizers' BPE wants (left, right) tuples; transformers annotates the argument as list[str].
    merges: Any = trainer.merges
    specials = list(SPECIAL_TOKENS[1:])  # <|endoftext|> is already its unk, eos and pad token
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, extra_special_tokens=specials)
    for template, start in templates:
        prefix = len(tokenizer(template.split("{}")[0])["input_ids"])
        if prefix != start:
            raise RuntimeError(f"the tiny Qwen tokenizer makes {prefix} prefix tokens, not {start}")
    return tokenizer


def _template(pipeline_class: Any) -> tuple[str, int]:
    """A Kandinsky 5 pipeline's prompt template and the token index its prompt starts at."""
    parts = dict.fromkeys(
        ("transformer", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
    )
    empty = pipeline_class(scheduler=None, **parts)
    return empty.prompt_template, empty.prompt_template_encode_start_idx


# --- the models -------------------------------------------------------------------------------
def qwen_model(tokenizer: Qwen2Tokenizer, seed: int) -> Qwen2_5_VLForConditionalGeneration:
    """Qwen2.5-VL with 2 text layers (mrope sections 2, 2, 4) and a 2-block vision tower."""
    ids = special_token_ids(tokenizer)
    torch.manual_seed(seed)
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": QWEN_DIM,
            "intermediate_size": 2 * QWEN_DIM,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "max_position_embeddings": 2048,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 2, 4]},
            "rope_theta": 1000000.0,
            "bos_token_id": None,
            "eos_token_id": ids["eos_token_id"],
            "pad_token_id": ids["pad_token_id"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": QWEN_DIM,
            "intermediate_size": 2 * QWEN_DIM,
            "num_heads": 2,
            "out_hidden_size": QWEN_DIM,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids["image_token_id"],
        video_token_id=ids["video_token_id"],
        vision_start_token_id=ids["vision_start_token_id"],
        vision_end_token_id=ids["vision_end_token_id"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def _token_id(tokenizer: Qwen2Tokenizer, token: str) -> int:
    ids = tokenizer.convert_tokens_to_ids(token)
    assert isinstance(ids, int)
    return ids


def clip_model(tokenizer: CLIPTokenizer, seed: int) -> CLIPTextModel:
    """CLIP text model whose pooled output conditions the transformer's time embedding."""
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=CLIP_DIM,
        intermediate_size=2 * CLIP_DIM,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=tokenizer.model_max_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def _vae(seed: int) -> AutoencoderKL:
    """Flux-like VAE: 16 latent channels, four levels (the pipelines' fixed 8x scale)."""
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=LATENTS,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def transformer_model(
    seed: int, *, visual_cond: bool, latents: int = LATENTS
) -> Kandinsky5Transformer3DModel:
    """The diffusion transformer, with its (zero-initialised) modulation layers randomised."""
    torch.manual_seed(seed)
    model = Kandinsky5Transformer3DModel(
        in_visual_dim=latents,
        in_text_dim=QWEN_DIM,
        in_text_dim2=CLIP_DIM,
        time_dim=16,
        out_visual_dim=latents,
        patch_size=(1, 2, 2),
        model_dim=16,
        ff_dim=32,
        num_text_blocks=1,
        num_visual_blocks=2,
        axes_dims=(1, 1, 2),
        visual_cond=visual_cond,
        attention_type="regular",
    )
    _randomise_modulation(model, seed + 1)
    return model


def _randomise_modulation(model: Any, seed: int) -> None:
    """Draw the modulation layers' weights (zero in a fresh transformer) at random."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "modulation" in name:
                parameter.copy_(0.1 * torch.randn(parameter.shape, generator=generator))


def qwen_processor(*, video: bool = False) -> Any:
    """The pipelines' `tokenizer` (an `ImageOnlyQwenProcessor`): the tiny Qwen tokenizer (of
    the video pipelines' template with `video`) with a small image processor."""
    return ImageOnlyQwenProcessor(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112),
        tokenizer=qwen_tokenizer(video=video),
    )


def special_token_ids(tokenizer: Qwen2Tokenizer) -> dict[str, int]:
    """The ids of the Qwen special tokens a Qwen2.5-VL config names."""
    ids = {token: _token_id(tokenizer, token) for token in SPECIAL_TOKENS}
    return {
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def build(parts: TinyParts) -> dict[str, str | list[str]]:
    """Save the tiny Kandinsky 5 text-to-image and editing pipelines; return their entry."""
    seed = parts.seed
    processor = qwen_processor()
    qwen_tokenizer = processor.tokenizer
    second_tokenizer = clip_tokenizer()
    shared = {
        "text_encoder": qwen_model(qwen_tokenizer, seed),
        "tokenizer": processor,
        "text_encoder_2": clip_model(second_tokenizer, seed),
        "tokenizer_2": second_tokenizer,
        "vae": _vae(seed),
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
    }
    for folder, pipeline_class, visual_cond in (
        ("k5-t2i", Kandinsky5T2IPipeline, False),
        ("k5-edit", Kandinsky5I2IPipeline, True),
    ):
        transformer = transformer_model(seed, visual_cond=visual_cond)
        save_pipeline(pipeline_class(transformer=transformer, **shared), parts.out_dir / folder)
    return {
        "text2img": "k5-t2i",
        "edit": "k5-edit",
        "sizes": [f"{width}x{height}" for width, height in TINY_SIZES],
    }


TINY = TinyBuilder(build=build)
