"""Pipeline cache sharing, batching, cancellation and the service's sync and async APIs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from generation.batching import batch_key
from generation.engine.cache import PipelineCache
from generation.engine.calls import GenerationCancelled
from generation.engine.checkpoints import ModelRegistry
from generation.engine.family import load_pipelines
from generation.engine.service import GenerationService
from generation.families import DEFAULT_FAMILIES
from generation.request import MixItem, RequestError, Task
from tests.helpers import decode, mask_png, png, small


@pytest.fixture
def fresh(tiny_settings: Settings) -> Any:
    """A service with an empty cache, to count loads from zero."""
    from bot.app.root import build_generation

    service = build_generation(tiny_settings)
    yield service
    service.close()


async def test_img2img_shares_the_text2img_weights(fresh: GenerationService) -> None:
    cache = fresh.caches[0]
    for spec in DEFAULT_FAMILIES:
        if not spec.supports(Task.IMG2IMG):
            continue
        roles = load_pipelines(spec).roles
        text2img = cache.get(spec.name, "text2img", roles)
        loads = cache.loads
        img2img = cache.get(spec.name, "img2img", roles)
        assert cache.loads == loads, "img2img is derived, not loaded"
        assert img2img.unet is text2img.unet
        assert img2img.movq is text2img.movq


async def test_a_second_request_loads_nothing(fresh: GenerationService) -> None:
    cache = fresh.caches[0]
    await fresh.generate(fresh.prepare(small(model="2.2")))
    loads = cache.loads
    assert loads == 2  # the 2.2 prior and decoder
    await fresh.generate(fresh.prepare(small(model="2.2", prompt="another", seed=9)))
    await fresh.generate(
        fresh.prepare(small(model="2.2", task=Task.IMG2IMG, init_image=png(), strength=0.5))
    )
    assert cache.loads == loads


async def test_the_prior_is_shared_between_decoders(fresh: GenerationService) -> None:
    cache = fresh.caches[0]
    await fresh.generate(fresh.prepare(small(model="2.2")))
    await fresh.generate(
        fresh.prepare(small(model="2.2", task=Task.INPAINT, init_image=png(), mask=mask_png()))
    )
    await fresh.generate(fresh.prepare(small(model="2.2", task=Task.DEPTH, init_image=png())))
    assert cache.loads == 5  # prior, decoder, inpaint decoder, controlnet, depth estimator
    assert sorted(cache.loaded()) == [
        "2.2/controlnet",
        "2.2/inpaint",
        "2.2/prior",
        "2.2/text2img",
        "depth-estimator",
    ]


async def test_unload_drops_pipelines_and_they_load_again(fresh: GenerationService) -> None:
    cache = fresh.caches[0]
    await fresh.generate(fresh.prepare(small(model="3")))
    await fresh.generate(fresh.prepare(small(model="2.2")))
    assert cache.unload("3") == 1
    assert cache.loaded() == ["2.2/prior", "2.2/text2img"]
    loads = cache.loads
    await fresh.generate(fresh.prepare(small(model="3")))
    assert cache.loads == loads + 1
    assert cache.unload() == 3


async def test_preload_loads_ahead_of_requests(fresh: GenerationService) -> None:
    fresh.preload("2.1", [Task.TEXT2IMG, Task.IMG2IMG])
    assert sorted(fresh.caches[0].loaded()) == ["2.1/img2img", "2.1/prior", "2.1/text2img"]


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    import diffusers

    cls = getattr(diffusers, name)
    original = cls.__call__
    calls: list[int] = []

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(kwargs["generator"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", counting)
    return calls


async def test_a_batch_makes_one_pipeline_call(
    service: GenerationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = ["a red fox", "a green owl", "a blue whale", "a grey cat"]
    requests = [
        service.prepare(small(model="2.2", prompt=p, seed=i)) for i, p in enumerate(prompts)
    ]
    calls = _count_calls(monkeypatch, "KandinskyV22Pipeline")
    results = await service.generate_batch(requests)
    assert calls == [4], "one decoder call for four requests"
    assert [r.request.prompt for r in results] == prompts
    for result, seed in zip(results, range(4), strict=True):
        assert len(result.images) == 1 and result.seeds == [seed]
        image = decode(result.images[0])
        assert image.size == (64, 64) and image.text["prompt"] == result.request.prompt  # type: ignore[attr-defined]
    assert len({r.images[0] for r in results}) == 4


async def test_incompatible_requests_are_split_into_groups(
    service: GenerationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_calls(monkeypatch, "Kandinsky3Pipeline")
    requests = [
        service.prepare(small(model="3", prompt="one", seed=1)),
        service.prepare(small(model="3", prompt="two", seed=2, steps=3)),
        service.prepare(small(model="3", prompt="three", seed=3)),
    ]
    results = await service.generate_batch(requests)
    assert sorted(calls) == [1, 2]
    assert [r.request.prompt for r in results] == ["one", "two", "three"]


def test_batch_key_ignores_only_prompt_and_seed() -> None:
    a = small(prompt="a", seed=1)
    assert batch_key(a) == batch_key(small(prompt="b", seed=2))
    assert batch_key(a.replace(negative_prompt="x")) == batch_key(a.replace(negative_prompt="y"))
    assert batch_key(a) != batch_key(small(steps=3))
    assert batch_key(a) != batch_key(small(model="3"))
    mix = small(task=Task.MIX, mix=(MixItem(1, text="a"), MixItem(1, text="b")))
    assert batch_key(mix) != batch_key(mix.replace())


async def test_cancel_stops_at_the_next_step(service: GenerationService) -> None:
    cancel = threading.Event()
    steps: list[int] = []

    def progress(done: int, total: int) -> None:
        steps.append(done)
        cancel.set()

    with pytest.raises(GenerationCancelled):
        await service.generate(service.prepare(small(model="2.2", steps=5)), progress, cancel)
    assert steps == [1]


def test_prepare_checks_pictures_before_any_work(service: GenerationService) -> None:
    with pytest.raises(RequestError, match="damaged or cut short"):
        service.prepare(small(task=Task.IMG2IMG, init_image=png()[:100], strength=0.5))
    with pytest.raises(RequestError, match="not a PNG"):
        service.prepare(small(task=Task.INPAINT, init_image=png(), mask=b"GIF89a"))


def test_sync_api_runs_in_the_calling_thread(service: GenerationService) -> None:
    results = service.run([small(model="2.1")])
    assert decode(results[0].images[0]).size == (64, 64)


def test_registry_file_resolves_local_folders(tiny_models: Path) -> None:
    registry = ModelRegistry.from_file(tiny_models)
    prior = registry.get("2.2", "prior")
    assert Path(prior.id).is_dir() and Path(prior.id).is_absolute()
    assert registry.get("2.1", "text2img").id.startswith(str(tiny_models.parent))
    cache = PipelineCache(registry)
    assert cache.device.type == "cpu" and cache.loads == 0
