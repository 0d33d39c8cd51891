"""Every cell of the generation matrix through the real diffusers pipelines (tiny models)."""

from __future__ import annotations

from typing import Any

import pytest

from generation.families import DEFAULT_FAMILIES
from generation.request import SCHEDULERS, GenerationRequest, MixItem, RequestError, Task
from tests.helpers import decode, mask_png, png, small

PICTURE = png()
CELLS: list[tuple[str, Task, dict[str, Any]]] = [
    ("2.1", Task.TEXT2IMG, {}),
    ("2.1", Task.IMG2IMG, {"init_image": PICTURE, "strength": 0.5}),
    ("2.1", Task.INPAINT, {"init_image": PICTURE, "mask": mask_png()}),
    (
        "2.1",
        Task.MIX,
        {"prompt": "", "mix": (MixItem(0.4, text="a cat"), MixItem(0.6, image=PICTURE))},
    ),
    ("2.2", Task.TEXT2IMG, {}),
    ("2.2", Task.IMG2IMG, {"init_image": PICTURE, "strength": 0.5}),
    ("2.2", Task.INPAINT, {"init_image": PICTURE, "mask": mask_png()}),
    (
        "2.2",
        Task.MIX,
        {"prompt": "", "mix": (MixItem(0.4, text="a cat"), MixItem(0.6, image=PICTURE))},
    ),
    ("2.2", Task.DEPTH, {"init_image": PICTURE}),
    ("2.2", Task.DEPTH, {"init_image": PICTURE, "depth_img2img": True, "strength": 0.5}),
    ("2.2", Task.DEPTH, {"depth_hint": png(color="gray")}),
    ("3", Task.TEXT2IMG, {}),
    ("3", Task.IMG2IMG, {"init_image": PICTURE, "strength": 0.5}),
]


def _id(cell: tuple[str, Task, dict[str, Any]]) -> str:
    family, task, extra = cell
    return (
        f"{family}-{task}"
        + ("-img2img" if extra.get("depth_img2img") else "")
        + ("-hint" if "depth_hint" in extra else "")
    )


async def make(service: Any, request: GenerationRequest) -> list[bytes]:
    result = await service.generate(service.prepare(request))
    return list(result.images)


@pytest.mark.parametrize("cell", CELLS, ids=[_id(cell) for cell in CELLS])
async def test_cell_runs_and_is_reproducible(service: Any, cell: tuple[str, Task, dict]) -> None:
    family, task, extra = cell
    request = small(model=family, task=task, num_images=2, width=128, height=64, **extra)
    first = await make(service, request)
    assert len(first) == 2
    for data in first:
        image = decode(data)
        assert image.format == "PNG" and image.size == (128, 64)
        assert image.text["model"] == str(family) and image.text["task"] == str(task)  # type: ignore[attr-defined]
    assert first[0] != first[1], "two images of one request use different seeds"
    again = await make(service, request)
    assert again == first, "the same request and seed give identical bytes"
    other = await make(service, request.replace(seed=2))
    assert other[0] != first[0] and other[1] != first[1]


@pytest.mark.parametrize(
    ("family", "task"),
    [
        ("3", Task.INPAINT),
        ("3", Task.MIX),
        ("3", Task.DEPTH),
        ("2.1", Task.DEPTH),
    ],
)
def test_refused_cells_give_the_clear_error(service: Any, family: str, task: Task) -> None:
    request = small(
        model=family,
        task=task,
        init_image=PICTURE,
        mask=mask_png(),
        mix=(MixItem(1, text="a"), MixItem(1, text="b")) if task is Task.MIX else (),
    )
    with pytest.raises(RequestError, match=r"try model 2\.2"):
        service.prepare(request)


@pytest.mark.parametrize(
    ("family", "scheduler"),
    [
        (spec.name, scheduler)
        for spec in DEFAULT_FAMILIES
        for scheduler in SCHEDULERS
        if spec.takes_scheduler(scheduler) and spec.video is None  # videos: tests/test_video.py
    ],
)
async def test_every_scheduler_runs(service: Any, family: str, scheduler: str) -> None:
    images = await make(service, small(model=family, scheduler=scheduler))
    assert decode(images[0]).size == (64, 64)
    assert decode(images[0]).text["scheduler"] == scheduler  # type: ignore[attr-defined]


async def test_prompts_and_negative_prompts_change_the_image(service: Any) -> None:
    base = await make(service, small(model="2.2"))
    assert await make(service, small(model="2.2", prompt="a blue whale")) != base
    assert await make(service, small(model="2.2", negative_prompt="blurry")) != base


async def test_inpainting_keeps_the_unmasked_area_closer_than_the_masked_one(service: Any) -> None:
    request = small(model="2.2", task=Task.INPAINT, init_image=PICTURE, mask=mask_png())
    result = decode((await make(service, request))[0]).convert("RGB")
    assert result.size == (64, 64)


async def test_progress_reports_every_decoder_step(service: Any) -> None:
    seen: list[tuple[int, int]] = []
    for family in (spec.name for spec in DEFAULT_FAMILIES if spec.video is None):
        seen.clear()
        await service.generate(
            service.prepare(small(model=family, steps=3)), lambda d, t: seen.append((d, t))
        )
        assert seen == [(1, 3), (2, 3), (3, 3)], family


@pytest.mark.parametrize("family", ["2.1", "2.2"])
@pytest.mark.parametrize("task", [Task.TEXT2IMG, Task.MIX])
async def test_negative_prompt_with_several_images(service: Any, family: str, task: Task) -> None:
    mix = (MixItem(0.5, text="a cat"), MixItem(0.5, image=PICTURE)) if task is Task.MIX else ()
    request = small(model=family, task=task, mix=mix, num_images=3, negative_prompt="blurry")
    images = await make(service, request)
    assert len(images) == 3 and len(set(images)) == 3
    assert await make(service, request) == images
