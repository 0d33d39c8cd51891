"""Kandinsky 5: text to image and instruction editing on the tiny checkpoints, its size list,
its refusals, shared text encoders and the memory options.

The tiny checkpoints' registry file declares the sizes they make (`TINY_SIZES`: the real
list's aspects, small); the real list is the spec's, checked without any model.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.app.cli import main
from bot.app.settings import Settings, SettingsError
from bot.app.settings import parse_families as worker_families
from bot.chat.grammar import parse_command_text
from generation.engine.checkpoints import ModelRegistry, RegistryError
from generation.engine.quantize import QuantizationUnavailable, backend_for
from generation.engine.service import GenerationService, batch_key
from generation.families import DEFAULT_FAMILIES, SizeList
from generation.families.k5 import SIZES
from generation.families.k5.tiny import TINY_SIZES
from generation.request import GenerationRequest, RequestError, Task, validate
from storage.store import Store
from tests.botkit import FakeGenerator, cmd, make_bot
from tests.helpers import decode, png

FIVE = DEFAULT_FAMILIES.get("5")
SMALL = ["--model", "5", "--steps", "2"]
PHOTO = "PHOTO"  # stands for the path of a picture the test writes


@pytest.fixture
def offline(tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line on the tiny models, in a fresh folder; returns the tiny models' folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KBOT_MODELS", str(tiny_models))
    monkeypatch.setenv("KBOT_DEVICE", "cpu")
    return tiny_models.parent


@pytest.fixture
def fresh(tiny_settings: Settings) -> Any:
    """A service with an empty pipeline cache."""
    from bot.app.root import build_generation

    service = build_generation(tiny_settings)
    yield service
    service.close()


def generate(*args: str) -> bytes:
    """Run `kandinsky-bot generate ARGS -o out.png` and return the PNG's bytes."""
    Path("out.png").unlink(missing_ok=True)
    assert main(["generate", *args, "-o", "out.png"]) == 0
    return Path("out.png").read_bytes()


def pixels(data: bytes | Image.Image) -> np.ndarray:
    image = decode(data) if isinstance(data, bytes) else data
    return np.asarray(image.convert("RGB"))


def direct(folder: Path, pipeline: str, **call: Any) -> Image.Image:
    """One image from a plain diffusers call on a tiny checkpoint folder."""
    import diffusers
    import torch

    importlib.import_module("generation.families.k5.processor")  # model_index.json names it
    pipe = getattr(diffusers, pipeline).from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    pipe.resolutions = [(call["width"], call["height"])]
    seed = call.pop("seed")
    out = pipe(num_inference_steps=2, generator=torch.Generator("cpu").manual_seed(seed), **call)
    image: Image.Image = out.image[0]
    return image


def write_picture(size: tuple[int, int] = (64, 64)) -> Path:
    path = Path("photo.png")
    path.write_bytes(png(size))
    return path


# ------------------------------------------------------------- the pixels of diffusers


def test_text_to_image_is_exactly_a_direct_diffusers_call(offline: Path) -> None:
    options = ["--size", "64x64", "--guidance", "4.5", "--negative", "blurry", "--seed", "3"]
    made = generate("a red fox in the snow", *SMALL, *options)
    expected = direct(
        offline / "k5-t2i",
        "Kandinsky5T2IPipeline",
        prompt="a red fox in the snow",
        negative_prompt="blurry",
        width=64,
        height=64,
        guidance_scale=4.5,
        seed=3,
    )
    assert np.array_equal(pixels(made), pixels(expected))
    assert generate("a red fox in the snow", *SMALL, *options) == made, "same seed, same bytes"
    assert generate("a red fox in the snow", *SMALL, *options[:-1], "4") != made
    assert generate("a blue whale", *SMALL, *options) != made


def test_edit_is_exactly_a_direct_diffusers_call(offline: Path) -> None:
    picture = write_picture()
    options = ["--task", "edit", "--image", str(picture), "--seed", "5"]
    made = generate("make it winter", *SMALL, *options)
    expected = direct(
        offline / "k5-edit",
        "Kandinsky5I2IPipeline",
        image=Image.open(picture).convert("RGB"),
        prompt="make it winter",
        width=64,
        height=64,
        guidance_scale=FIVE.guidance_scale,
        seed=5,
    )
    assert np.array_equal(pixels(made), pixels(expected))
    assert generate("make it winter", *SMALL, *options) == made
    assert generate("make it night", *SMALL, *options) != made, "the instruction matters"
    assert generate("make it winter", *SMALL, *options[:-1], "6") != made


def test_an_edit_keeps_the_pictures_aspect(offline: Path) -> None:
    wide = write_picture((128, 64))
    made = decode(generate("make it winter", *SMALL, "--task", "edit", "--image", str(wide)))
    assert made.size == SizeList(TINY_SIZES).nearest(128, 64) == (176, 80)
    assert made.text["task"] == "edit"  # type: ignore[attr-defined]
    assert made.text["prompt"] == "make it winter"  # type: ignore[attr-defined]
    assert "strength" not in made.text  # type: ignore[attr-defined]


def test_edit_without_a_model_goes_to_the_family_that_edits(offline: Path) -> None:
    picture = write_picture()
    made = decode(
        generate("make it winter", "--task", "edit", "--image", str(picture), "--steps", "2")
    )
    assert made.text["model"] == "5" and made.size == (64, 64)  # type: ignore[attr-defined]


def test_without_a_size_the_default_becomes_a_listed_one(offline: Path) -> None:
    assert decode(generate("a lighthouse", *SMALL)).size == (64, 64)
    assert decode(generate("a lighthouse", *SMALL, "--ar", "9:16")).size == (96, 160)


def test_regenerating_a_recipe_gives_the_same_bytes(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = write_picture((128, 64))
    first = generate("make it winter", *SMALL, "--task", "edit", "--image", str(picture))
    Path("first.png").write_bytes(first)
    capsys.readouterr()
    assert main(["recipe", "first.png"]) == 0
    shown = capsys.readouterr().out
    assert '"task": "edit"' in shown and '"prompt": "make it winter"' in shown
    again = ["recipe", "first.png", "--regenerate", "--image", str(picture), "-o", "again.png"]
    assert main(again) == 0
    assert Path("again.png").read_bytes() == first
    text = generate("a lighthouse", *SMALL, "--size", "80x176")
    Path("text.png").write_bytes(text)
    assert main(["recipe", "text.png", "--regenerate", "-o", "text-again.png"]) == 0
    assert Path("text-again.png").read_bytes() == text


# -------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ["a cat", "--model", "5", "--size", "512x512"],
            "Kandinsky 5 makes only these sizes: 64x64, 80x176, 176x80, 96x160, 160x96, "
            "112x144, 144x112; got --size 512x512 (--ar picks the nearest)",
        ),
        (
            ["make it", "--model", "5", "--task", "edit", "--image", PHOTO, "--strength", "0.5"],
            "edit takes no strength: the instruction says what to change; leave out --strength",
        ),
        (
            ["make it winter", "--model", "2.2", "--task", "edit", "--image", PHOTO],
            "Kandinsky 2.2 cannot edit by instruction; try model 5",
        ),
        (
            ["a watercolor", "--model", "5", "--task", "img2img", "--image", PHOTO],
            "Kandinsky 5 changes a picture by instruction, not by strength: use /edit "
            "(task edit) and say what to change",
        ),
        (
            ["a cat", "--model", "5", "--scheduler", "ddim"],
            "Kandinsky 5 takes only the scheduler default, got 'ddim'",
        ),
        (["make it winter", "--model", "5", "--task", "edit"], "edit needs a picture"),
    ],
)
def test_refusals_exit_2_with_a_sentence(
    offline: Path, capsys: pytest.CaptureFixture[str], args: list[str], sentence: str
) -> None:
    picture = write_picture()
    assert main(["generate", *(str(picture) if arg == PHOTO else arg for arg in args)]) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err


def test_the_real_size_list_is_the_models() -> None:
    assert SIZES.sizes == (
        (1024, 1024),
        (640, 1408),
        (1408, 640),
        (768, 1280),
        (1280, 768),
        (896, 1152),
        (1152, 896),
    )
    request = GenerationRequest(model="5", prompt="a cat", width=1024, height=1024)
    assert validate(request).width == 1024
    with pytest.raises(RequestError) as caught:
        validate(request.replace(width=512, height=512))
    assert caught.value.key == "size_not_listed" and caught.value.field == "size"
    assert "1024x1024, 640x1408, 1408x640, 768x1280, 1280x768, 896x1152, 1152x896" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("aspect", "size"),
    [("16:9", (1280, 768)), ("1:1", (1024, 1024)), ("9:16", (768, 1280)), ("21:9", (1408, 640))],
)
def test_an_aspect_picks_the_nearest_listed_size(aspect: str, size: tuple[int, int]) -> None:
    parsed = parse_command_text(f"a cat --model 5 --ar {aspect}")
    assert parsed.dimensions(768 * 768, rule=FIVE.size_rule) == size
    assert FIVE.size_rule.default_size(768, 768) == (1024, 1024)
    assert FIVE.size_rule.default_size(768, 512) == (1280, 768)


def test_other_families_refuse_edit_naming_the_ones_that_can() -> None:
    for spec in DEFAULT_FAMILIES:
        if spec.name == "5" or spec.video is not None:  # a video family says it makes videos
            continue
        request = GenerationRequest(model=spec.name, task=Task.EDIT, prompt="x", init_image=b"x")
        with pytest.raises(RequestError) as caught:
            validate(request)
        assert str(caught.value) == f"Kandinsky {spec.name} cannot edit by instruction; try model 5"


def test_requests_of_family_5_never_share_a_call() -> None:
    one = GenerationRequest(model="5", prompt="a", width=1024, height=1024, seed=1)
    assert batch_key(one) != batch_key(one.replace(prompt="b", seed=2))
    edit = one.replace(task=Task.EDIT, init_image=b"x")
    assert batch_key(edit) != batch_key(edit.replace(prompt="b"))
    two = GenerationRequest(model="2.2", prompt="a", seed=1)
    assert batch_key(two) == batch_key(two.replace(prompt="b", seed=2)), "2.2 still batches"


# ---------------------------------------------------------------------- the chat path


class Recording(FakeGenerator):
    """The bot's fake generator, keeping the requests it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[GenerationRequest] = []

    async def generate_batch(self, requests: Any, progress: Any = None, cancel: Any = None) -> Any:
        self.requests.extend(requests)
        return await super().generate_batch(requests, progress, cancel)


async def test_chat_requests_for_family_5_take_its_sizes(store: Store) -> None:
    generator = Recording()
    kit = make_bot(store, generator)
    await kit.queue.start()
    await kit.bot.handle(cmd("kim", "imagine", "a fox --model 5"))
    await kit.bot.handle(cmd("kim", "imagine", "a fox --model k5 --ar 16:9"))
    await kit.queue.wait_idle()
    assert [(r.model, r.width, r.height) for r in generator.requests] == [
        ("5", 1024, 1024),
        ("5", 1280, 768),
    ]
    await kit.bot.handle(cmd("kim", "imagine", "a fox --model 5 --size 512x512"))
    assert kit.replier.said("kim")[-1].startswith("Kandinsky 5 makes only these sizes: 1024x1024")
    await kit.bot.handle(cmd("kim", "settings", "--model 5"))
    assert kit.replier.said("kim")[-1].startswith("Your defaults: model 5, size default")
    await kit.bot.handle(cmd("kim", "imagine", "a lighthouse"))
    await kit.queue.wait_idle()
    assert (generator.requests[-1].model, generator.requests[-1].width) == ("5", 1024)
    await kit.queue.stop()


# --------------------------------------------------------------------- the engine


async def test_prompt_negative_prompt_and_guidance_change_the_picture(service: Any) -> None:
    request = GenerationRequest(model="5", prompt="a red fox", width=64, height=64, steps=2, seed=1)

    async def make(**changes: Any) -> bytes:
        result = await service.generate(service.prepare(request.replace(**changes)))
        return bytes(result.images[0])

    base = await make()
    assert await make() == base
    assert await make(prompt="a blue whale") != base
    assert await make(negative_prompt="blurry") != base
    assert await make(guidance_scale=6.0) != base


async def test_several_images_of_one_edit(service: Any) -> None:
    request = GenerationRequest(
        model="5", task=Task.EDIT, prompt="make it winter", init_image=png(), steps=2, seed=7
    ).replace(width=64, height=64, num_images=2)
    result = await service.generate(service.prepare(request))
    assert result.seeds == [7, 8] and len(set(result.images)) == 2


async def test_progress_reports_each_step(service: Any) -> None:
    seen: list[tuple[int, int]] = []
    request = GenerationRequest(
        model="5", task=Task.EDIT, prompt="make it night", init_image=png(), steps=3, seed=1
    ).replace(width=64, height=64)
    await service.generate(service.prepare(request), lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_two_pipelines_share_their_text_encoders(fresh: GenerationService) -> None:
    fresh.preload("5", [Task.EDIT])
    cache = fresh.caches[0]
    assert sorted(cache.loaded()) == ["5/edit", "5/text2img"]
    assert cache.loads == 2
    from generation.engine.family import load_pipelines

    roles = load_pipelines(FIVE).roles
    text2img, edit = cache.get("5", "text2img", roles), cache.get("5", "edit", roles)
    for name in ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2"):
        assert getattr(edit, name) is getattr(text2img, name), name
    assert edit.transformer is not text2img.transformer


def test_the_edit_pipeline_loaded_first_lends_its_encoders(fresh: GenerationService) -> None:
    from generation.engine.family import load_pipelines

    roles = load_pipelines(FIVE).roles
    cache = fresh.caches[0]
    edit = cache.get("5", "edit", roles)
    assert cache.get("5", "text2img", roles).text_encoder is edit.text_encoder


def test_preload_takes_family_5(fresh: GenerationService) -> None:
    fresh.preload("5")
    assert fresh.caches[0].loaded() == ["5/text2img"]


def test_workers_serve_family_5() -> None:
    assert worker_families(["5"]) == ["5"]
    assert "5" in worker_families([])


def test_the_tiny_tokenizer_keeps_every_prompt_token(offline: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(offline / "k5-t2i" / "tokenizer")
    prefix = (
        "<|im_start|>system\nYou are a prompt engineer. Describe the image by detailing the "
        "color, shape, size, texture, quantity, text, spatial relationships of the objects and "
        "background:<|im_end|>\n<|im_start|>user\n"
    )
    assert len(tokenizer(prefix)["input_ids"]) == 40
    ids = tokenizer(prefix + "a red fox<|im_end|>")["input_ids"]
    assert tokenizer.decode(ids[40:]) == "a red fox<|im_end|>"


# ----------------------------------------------------- registry sizes and memory options


def test_a_registry_file_may_declare_the_sizes_its_checkpoints_make(tmp_path: Path) -> None:
    (tmp_path / "registry.json").write_text('{"5": {"text2img": "t", "sizes": ["64x64"]}}')
    registry = ModelRegistry.from_file(tmp_path)
    families = registry.sized()
    assert families.get("5").size_rule == SizeList(((64, 64),))
    assert families.get("2.2").size_rule == DEFAULT_FAMILIES.get("2.2").size_rule
    (tmp_path / "registry.json").write_text('{"5": {"sizes": ["64 by 64"]}}')
    with pytest.raises(RegistryError, match="WIDTHxHEIGHT"):
        ModelRegistry.from_file(tmp_path)


def test_quantize_is_one_of_three_modes() -> None:
    assert Settings.from_env({}, dotenv=None).quantize == "none"
    assert Settings.from_env({"KBOT_QUANTIZE": "NF4"}, dotenv=None).quantize == "nf4"
    with pytest.raises(SettingsError, match="KBOT_QUANTIZE must be one of none, int8, nf4"):
        Settings.from_env({"KBOT_QUANTIZE": "fp8"}, dotenv=None)


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.mark.skipif(_installed("bitsandbytes"), reason="bitsandbytes is installed here")
def test_a_missing_quantization_backend_stops_the_start(
    offline: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backend_for("none") is None
    with pytest.raises(QuantizationUnavailable, match=r"kandinsky-bot\[bitsandbytes\]"):
        backend_for("nf4")
    monkeypatch.setenv("KBOT_QUANTIZE", "nf4")
    assert main(["generate", "a cat", *SMALL, "--size", "64x64"]) == 2
    err = capsys.readouterr().err
    assert "KBOT_QUANTIZE=nf4 needs bitsandbytes, which is not installed" in err
    assert not Path("outputs").exists(), "nothing was generated"


def test_half_precision_is_bf16_for_family_5() -> None:
    import torch

    from generation.engine.cache import EngineOptions, Load
    from generation.engine.family import load_pipelines

    roles = load_pipelines(FIVE).roles
    assert {role.half for role in roles.values() if isinstance(role, Load)} == {"bfloat16"}
    cuda = EngineOptions(device="cuda")
    assert cuda.dtype(torch.bfloat16) == torch.bfloat16 and cuda.dtype() == torch.float16
    assert EngineOptions(device="cuda", fp16=False).dtype(torch.bfloat16) == torch.float32
    assert EngineOptions(device="cpu").dtype(torch.bfloat16) == torch.float32


def test_png_pictures_of_any_shape_go_in(offline: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 90), "white").save(buffer, format="PNG")
    Path("tall.png").write_bytes(buffer.getvalue())
    made = decode(generate("make it winter", *SMALL, "--task", "edit", "--image", "tall.png"))
    assert made.size == (80, 176)
