"""The pure request model: validation, the matrix, sizes and recipes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generation.families import DEFAULT_FAMILIES, MultipleOf, SizeList
from generation.request import (
    GenerationRequest,
    Limits,
    MixItem,
    RequestError,
    Task,
    supports,
    validate,
)
from generation.sizes import parse_size, size_for_aspect

PICTURE = b"picture bytes are checked later by the engine"


def refused(request: GenerationRequest, limits: Limits | None = None) -> RequestError:
    with pytest.raises(RequestError) as caught:
        validate(request, limits)
    return caught.value


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"width": 700}, "width", "--size 700x768: both sides must be multiples of 64, and 700"),
        ({"height": 0}, "height", "--size 768x0: both sides must be between 64 and 1536 pixels"),
        ({"width": 4096}, "width", "between 64 and 1536 pixels, and 4096 is not"),
        ({"steps": 0}, "steps", "between 1 and 150, got 0"),
        ({"strength": 2.0}, "strength", "between 0 and 1, got 2.0"),
        ({"guidance_scale": float("nan")}, "guidance_scale", "nan"),
        ({"num_images": 5}, "num_images", "between 1 and 4, got 5"),
        ({"seed": -1}, "seed", "got -1"),
        ({"scheduler": "euler"}, "scheduler", "got 'euler'"),
        ({"model": "4"}, "model", "must be one of 2.1, 2.2, 3, 5, 5v, got '4'"),
        ({"task": "video"}, "task", "got 'video'"),
        ({"prompt": "   "}, "prompt", "must not be empty"),
        ({"prompt": "x" * 10_000}, "prompt", "10000 characters long; the limit is 1000"),
        ({"negative_prompt": "y" * 1001}, "negative_prompt", "the limit is 1000"),
        ({"task": Task.INPAINT, "init_image": PICTURE}, "mask", "needs a mask"),
        ({"task": Task.IMG2IMG}, "init_image", "needs a picture"),
        (
            {"task": Task.MIX, "mix": (MixItem(1.0, text="a cat"),)},
            "mix",
            "at least 2 items, got 1",
        ),
        ({"task": Task.DEPTH}, "init_image", "depth needs a picture or a depth map"),
        (
            {"steps": 2, "strength": 0.3, "task": Task.IMG2IMG, "init_image": PICTURE},
            "strength",
            "runs no denoising step",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_field(changes: dict, field: str, words: str) -> None:
    error = refused(GenerationRequest(prompt="a cat").replace(**changes))
    assert error.field == field
    assert words in str(error)


@pytest.mark.parametrize(
    ("model", "task", "message"),
    [
        ("3", Task.INPAINT, "Kandinsky 3 has no inpainting; try model 2.2"),
        ("3", Task.MIX, "Kandinsky 3 has no prior, so it cannot mix; try model 2.2"),
        ("3", Task.DEPTH, "Depth ControlNet exists only for Kandinsky 2.2; try model 2.2"),
        ("2.1", Task.DEPTH, "Depth ControlNet exists only for Kandinsky 2.2; try model 2.2"),
    ],
)
def test_matrix_refusals_suggest_a_model(model: str, task: Task, message: str) -> None:
    request = GenerationRequest(model=model, task=task, prompt="a cat", init_image=PICTURE)
    error = refused(request)
    assert str(error) == message
    assert error.field == "model"
    assert not supports(model, task)


def test_supported_cells_validate() -> None:
    mix = (MixItem(0.5, text="a cat"), MixItem(0.5, image=PICTURE))
    cells = {
        Task.TEXT2IMG: {},
        Task.IMG2IMG: {"init_image": PICTURE},
        Task.INPAINT: {"init_image": PICTURE, "mask": PICTURE},
        Task.MIX: {"mix": mix},
        Task.DEPTH: {"init_image": PICTURE},
        Task.EDIT: {"init_image": PICTURE},
    }
    for spec in DEFAULT_FAMILIES:
        width, height = spec.size_rule.default_size(768, 768)
        for task, extra in cells.items():
            request = GenerationRequest(
                model=spec.name, task=task, prompt="a cat", width=width, height=height, **extra
            )
            family = spec.name
            if supports(family, task):
                assert validate(request).task is task
            else:
                refused(request)


def test_limits_are_configurable() -> None:
    limits = Limits(max_side=512, max_prompt_chars=10)
    assert refused(GenerationRequest(prompt="a cat", width=768), limits).field == "width"
    assert refused(GenerationRequest(prompt="a long prompt"), limits).field == "prompt"
    assert validate(GenerationRequest(prompt="short", width=512, height=512), limits)


def test_request_is_frozen_and_resolved_fills_defaults() -> None:
    request = GenerationRequest(prompt="a cat", model="3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.prompt = "a dog"  # type: ignore[misc]
    resolved = request.resolved()
    assert (resolved.steps, resolved.guidance_scale) == (25, 3.0)
    assert (resolved.prior_steps, resolved.prior_guidance_scale) == (None, None), "no prior"
    assert resolved.seed is not None and 0 <= resolved.seed < 2**32
    assert resolved.resolved().seed == resolved.seed


def test_prior_defaults_come_from_the_family() -> None:
    resolved = GenerationRequest(prompt="a cat", model="2.1").resolved()
    assert (resolved.steps, resolved.guidance_scale) == (50, 4.0)
    assert (resolved.prior_steps, resolved.prior_guidance_scale) == (25, 4.0)
    mine = GenerationRequest(prompt="a cat", prior_steps=7, prior_guidance_scale=1.5).resolved()
    assert (mine.prior_steps, mine.prior_guidance_scale) == (7, 1.5)
    assert "prior_steps" not in GenerationRequest(prompt="a", model="3").resolved().recipe()


def test_strings_are_accepted_for_enums() -> None:
    request = validate(
        GenerationRequest(prompt="a cat").replace(model="3", task="img2img", init_image=PICTURE)
    )
    assert request.model == "3" and request.task is Task.IMG2IMG


def test_recipe_round_trip() -> None:
    request = GenerationRequest(
        task=Task.MIX,
        prompt="",
        mix=(MixItem(0.3, text="a cat"), MixItem(0.7, text="a dog")),
        seed=5,
        steps=10,
        guidance_scale=3.5,
    )
    again = GenerationRequest.from_recipe(request.recipe())
    assert again == request


def test_mix_item_needs_exactly_one_ingredient() -> None:
    with pytest.raises(RequestError):
        MixItem(1.0)
    with pytest.raises(RequestError):
        MixItem(1.0, text="a", image=b"b")


def test_parse_size() -> None:
    assert parse_size("768x512") == (768, 512)
    assert parse_size("768×512") == (768, 512)
    for bad in ("768", "axb", "1x2x3", "-64x64"):
        with pytest.raises(RequestError):
            parse_size(bad)


def test_size_for_aspect_keeps_aspect_and_bounds() -> None:
    sixty_four = MultipleOf(64)
    assert size_for_aspect(1920, 1080, 768 * 768, rule=sixty_four) == (1024, 576)
    assert size_for_aspect(500, 500, 768 * 768, rule=sixty_four) == (768, 768)
    width, height = size_for_aspect(10_000, 10, 768 * 768, rule=sixty_four)
    assert width <= 1536 and height >= 64 and width % 64 == 0
    assert size_for_aspect(1920, 1080, 768 * 768, rule=MultipleOf(128)) == (1024, 512)


def test_an_aspect_always_gives_a_size_that_passes_even_within_odd_bounds() -> None:
    odd = Limits(min_side=100, max_side=1000)
    for aspect in ((4, 1), (1, 4), (1, 1), (16, 9)):
        width, height = size_for_aspect(*aspect, 768 * 768, odd, rule=MultipleOf(64))
        assert (width % 64, height % 64) == (0, 0) and min(width, height) >= 100
        assert max(width, height) <= 1000
        validate(GenerationRequest(prompt="a cat", width=width, height=height), odd)


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ((1536, 1536), "--size 1536x1536 is over the limit of 1048576 pixels"),
        ((768.5, 768), "--size must look like 768x512, got 768.5x768"),
        ((768, 1600), "--size 768x1600: both sides must be between 64 and 1536 pixels"),
    ],
)
def test_size_errors_name_the_option_users_give_a_size_with(
    size: tuple[float, int], words: str
) -> None:
    request = GenerationRequest(prompt="a cat").replace(width=size[0], height=size[1])
    error = refused(request, Limits(max_pixels=1024 * 1024))
    assert str(error) == words or str(error).startswith(words)
    assert "width" not in str(error) and "height" not in str(error)


def test_a_size_list_gives_the_listed_size_of_the_nearest_aspect() -> None:
    listed = SizeList(((1024, 1024), (640, 1408), (1408, 640), (1280, 768)))
    assert size_for_aspect(1920, 1080, 768 * 768, rule=listed) == (1280, 768)
    assert size_for_aspect(10, 10_000, 1, rule=listed) == (640, 1408)
    assert listed.default_size(768, 768) == (1024, 1024)
    assert listed.default_size(1408, 640) == (1408, 640)
    assert MultipleOf(64).default_size(700, 700) == (700, 700), "validation judges it"
    with pytest.raises(ValueError, match="positive sizes"):
        SizeList(((0, 64),))


@given(
    width=st.integers(-10_000, 10_000),
    height=st.integers(-10_000, 10_000),
    steps=st.one_of(st.none(), st.integers(-5, 500)),
    strength=st.floats(allow_nan=True, allow_infinity=True),
    prompt=st.text(max_size=1200),
    num_images=st.integers(-2, 10),
)
def test_validation_raises_only_its_own_error(
    width: int, height: int, steps: int | None, strength: float, prompt: str, num_images: int
) -> None:
    request = GenerationRequest(
        prompt=prompt,
        width=width,
        height=height,
        steps=steps,
        strength=strength,
        num_images=num_images,
    )
    try:
        validate(request)
    except RequestError as error:
        assert str(error)


def test_record_round_trip_keeps_pictures() -> None:
    request = GenerationRequest(
        task=Task.MIX,
        prompt="a cat",
        init_image=b"init",
        mask=b"mask",
        mix=(MixItem(0.3, text="a cat"), MixItem(0.7, image=b"dog")),
        seed=5,
        num_images=3,
    )
    record, blobs = request.to_record()
    import json

    assert json.loads(json.dumps(record)) == record
    assert blobs == [b"init", b"mask", b"dog"]
    assert GenerationRequest.from_record(record, blobs) == request
