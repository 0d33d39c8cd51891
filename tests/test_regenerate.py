"""Images made again to the byte from their recipe, whatever call made them.

A batched pipeline call does not compute an image to the last bit as a call of one image
would (at 128x64 and 3 steps they differ on the tiny models), so a recipe records the call's
shape and `GenerationService.rerun` makes a call of that shape again.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from generation.engine.service import GenerationService, batch_key
from generation.families import DEFAULT_FAMILIES, MultipleOf
from generation.images import read_recipe
from generation.intake import Intake
from generation.placement import Placement
from generation.request import GenerationRequest, RequestError, Task
from tests.helpers import png, small

WIDE = {"width": 128, "height": 64, "steps": 3, "prior_steps": 3}
# The families whose sizes are any multiple (128x64 is one of theirs) and that batch; Kandinsky
# 5 makes a list of sizes and runs requests alone (tests/test_k5.py regenerates its pictures).
FREE = [s for s in DEFAULT_FAMILIES if isinstance(s.size_rule, MultipleOf) and s.batches]
TEXT2IMG = [spec.name for spec in FREE if spec.supports(Task.TEXT2IMG)]
IMG2IMG = [spec.name for spec in FREE if spec.supports(Task.IMG2IMG)]
LONG = "an owl on a branch in the moonlight, seen from below, with the stars behind it"


def pixels(data: bytes) -> bytes:
    return np.asarray(Image.open(io.BytesIO(data))).tobytes()


def again(service: GenerationService, made: bytes, **pictures: bytes) -> bytes:
    """The PNG its recipe makes (the pictures it started from given back)."""
    recipe = read_recipe(made)
    request = GenerationRequest.from_recipe(recipe).replace(**pictures)
    (image,) = service.rerun(request, Placement.of(recipe)).images
    return image


def test_the_images_of_one_request_are_made_again_alone(service: GenerationService) -> None:
    alone_differs = []
    for model in TEXT2IMG:
        request = service.prepare(small(model=model, seed=7, num_images=2, **WIDE))
        (made,) = service.run([request])
        first, second = made.images
        recipes = [read_recipe(image) for image in made.images]
        placed = [Placement.of(recipe) for recipe in recipes]
        assert [(place.images, place.index) for place in placed] == [(2, 0), (2, 1)]
        assert [recipe["seed"] for recipe in recipes] == [7, 8]
        assert again(service, second) == second, model
        assert again(service, first) == first, model
        # The same recipe in a call of its own: what regenerating made before.
        (lone,) = service.run([request.replace(seed=8, num_images=1)])
        assert "batch" not in read_recipe(lone.images[0])
        alone_differs.append(pixels(lone.images[0]) != pixels(second))
    assert any(alone_differs), "at this size a batched image and a lone one should differ"


@pytest.mark.parametrize("negative", ["", "blurry"])
def test_the_images_of_batched_requests_are_made_again_alone(
    service: GenerationService, negative: str
) -> None:
    for model in TEXT2IMG:
        requests = [
            small(model=model, prompt="x", seed=0, negative_prompt=negative, **WIDE),
            small(model=model, prompt=LONG, seed=41, negative_prompt=negative and "dark", **WIDE),
            small(model=model, prompt="a fox", seed=2**32 - 1, negative_prompt=negative, **WIDE),
        ]
        results = service.run([service.prepare(request) for request in requests])
        made = [result.images[0] for result in results]
        assert [Placement.of(read_recipe(image)).index for image in made] == [0, 1, 2]
        assert [again(service, image) for image in made] == made, model


def test_batched_image_to_image_is_made_again_alone(service: GenerationService) -> None:
    pictures = [png((96, 64)), png((64, 64), "red")]
    for model in IMG2IMG:
        requests = [
            small(model=model, task=Task.IMG2IMG, init_image=picture, prompt=prompt, **WIDE)
            for picture, prompt in zip(pictures, ["x", LONG], strict=True)
        ]
        results = service.run([service.prepare(request) for request in requests])
        for result, picture in zip(results, pictures, strict=True):
            (image,) = result.images
            assert again(service, image, init_image=picture) == image, model


def test_the_images_of_one_mix_are_made_again_alone(service: GenerationService) -> None:
    request = small(model="2.2", task=Task.MIX, prompt="", num_images=2, **WIDE).replace(
        mix=GenerationRequest.from_recipe(
            {"mix": [{"weight": 0.5, "text": "a cat"}, {"weight": 0.5, "text": "a dog"}]}
        ).mix
    )
    (made,) = service.run([service.prepare(request)])
    assert [again(service, image) for image in made.images] == made.images


def test_a_negative_prompt_is_shared_by_a_batch_or_by_none() -> None:
    """A batch with a negative prompt gives an empty one to those without: not the same
    guidance as none, so they are never batched together."""
    plain = small(prompt="a", seed=1)
    assert batch_key(plain) == batch_key(small(prompt="b", seed=2))
    assert batch_key(plain.replace(negative_prompt="x")) == batch_key(
        small(prompt="b", seed=2, negative_prompt="y")
    )
    assert batch_key(plain) != batch_key(plain.replace(negative_prompt="x"))


@pytest.mark.parametrize(
    "entry",
    [
        "two",
        {"images": 2},
        {"images": 2, "index": 2},
        {"images": 2, "index": -1},
        {"images": 10**6, "index": 0},
        {"images": 2, "index": 1, "context": 0},
        {"images": 2.0, "index": 1},
    ],
)
def test_a_damaged_batch_entry_is_refused(entry: object) -> None:
    with pytest.raises(RequestError, match="recipe is damaged"):
        Placement.of({"batch": entry})


def test_placement_reads_back() -> None:
    assert Placement.of({}) == Placement()
    placed = Placement(4, 3, 17)
    assert Placement.of({"batch": placed.recipe()}) == placed
    assert Placement().recipe() == {}


def test_a_place_in_a_call_is_checked() -> None:
    intake = Intake()
    assert Placement.parse("2/4") == Placement(4, 1) and Placement(4, 1).spoken() == "2/4"
    assert Placement.parse("2/4:7") == Placement(4, 1, 7)
    for text in ("0/4", "5/4", "2/4:0", "2", "a/b", "1/999"):
        assert Placement.parse(text) is None, text
    for placement, words in [
        ((40, 1), "--batch must name one of at most 32 pictures made together"),
        ((4, 4), "--batch must name one of at most 32"),
        ((4,), "--batch must name one of at most 32"),
    ]:
        with pytest.raises(RequestError, match=words):
            intake.prepare(small(placement=placement))
    with pytest.raises(RequestError, match="--batch makes one picture again; leave out --n"):
        intake.prepare(small(placement=(2, 1), num_images=2))


def test_a_request_with_its_place_is_made_again_by_run(service: GenerationService) -> None:
    wide = {"width": 128, "height": 64, "steps": 3, "prior_steps": 3}
    requests = [
        service.prepare(small(prompt="a fox", seed=3, num_images=2, **wide)),
        service.prepare(small(prompt="an owl in the moonlight", seed=9, num_images=2, **wide)),
    ]
    made = [png for result in service.run(requests) for png in result.images]
    assert len(made) == 4
    for data in made:
        recipe = read_recipe(data)
        request = GenerationRequest.from_recipe(recipe).replace(
            placement=Placement.of(recipe).entry()
        )
        assert request.placement[:2] == (4, made.index(data))
        assert GenerationRequest.from_record(*request.to_record()) == request
        (again,) = service.run([service.prepare(request)])
        assert again.images == [data]
