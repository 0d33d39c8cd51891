"""Waiting times: predictions from measured speeds, their fallbacks, and the speeds table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app.warming import WarmingEngine
from bot.jobs.eta import DEVICE_FACTORS, OTHER_STEPS, Estimator, rate_at
from bot.jobs.local import LocalQueue
from generation.families import DEFAULT_FAMILIES
from generation.request import GenerationRequest, Task
from generation.timing import CallTiming
from storage.records import SpeedRecord
from storage.speeds import ALPHA, bucket
from storage.store import Store
from tests.botkit import FakeGenerator, cmd, make_bot

CPU = "cpu"
GPU = "cuda NVIDIA H200"
MEGAPIXEL = 1024 * 1024


def speed(
    pixels: int,
    step: float,
    other: float = 0.0,
    *,
    family: str = "2.2",
    task: str = "text2img",
    device: str = GPU,
    samples: int = 1,
) -> SpeedRecord:
    return SpeedRecord(
        family, task, bucket(pixels), device, pixels, step, other, samples, datetime.now(UTC)
    )


def job(side: int = 1024, steps: int = 50, **changes: Any) -> GenerationRequest:
    return GenerationRequest(
        prompt="a fox", model="2.2", width=side, height=side, steps=steps
    ).replace(**changes)


# -- the rules --------------------------------------------------------------------------------
def test_a_measured_speed_gives_steps_times_the_step_plus_the_rest_per_image() -> None:
    estimator = Estimator()
    estimator.learn([speed(MEGAPIXEL, step=0.1, other=2.0)])
    assert estimator.seconds(job(steps=50)) == pytest.approx(50 * 0.1 + 2.0)
    assert estimator.seconds(job(steps=10)) == pytest.approx(10 * 0.1 + 2.0)
    assert estimator.seconds(job(steps=50, num_images=3)) == pytest.approx(3 * 7.0)
    # Image to image runs only the decoder steps its strength leaves.
    picture = job(steps=50, task=Task.IMG2IMG, strength=0.5, init_image=b"png")
    assert picture.decoder_steps == 25
    assert estimator.seconds(picture) == pytest.approx(25 * 0.1 + 2.0)  # text2img's speed


def test_sizes_between_measured_ones_are_interpolated_by_pixels_and_others_scaled() -> None:
    small, large = speed(512 * 512, step=0.02, other=0.4), speed(MEGAPIXEL, step=0.1, other=2.0)
    halfway = (512 * 512 + MEGAPIXEL) / 2
    assert rate_at([small, large], halfway).step == pytest.approx(0.06)
    assert rate_at([small, large], halfway).other == pytest.approx(1.2)
    assert rate_at([small, large], MEGAPIXEL).step == pytest.approx(0.1)
    # Outside the measured sizes: scaled by pixels from the nearest.
    assert rate_at([small, large], 2 * MEGAPIXEL).step == pytest.approx(0.2)
    assert rate_at([small, large], 256 * 256).step == pytest.approx(0.005)
    estimator = Estimator()
    estimator.learn([large])
    assert estimator.seconds(job(side=1448, steps=10)) == pytest.approx(
        (10 * 0.1 + 2.0) * 1448 * 1448 / MEGAPIXEL
    )


def test_nothing_measured_falls_back_to_the_familys_declared_speed_for_the_device() -> None:
    spec = DEFAULT_FAMILIES.get("2.2")
    guess = Estimator()  # nothing known: a GPU is guessed
    per_step = spec.step_seconds
    assert guess.seconds(job(steps=50)) == pytest.approx((50 + OTHER_STEPS) * per_step)
    # Scaled by steps and by pixels...
    assert guess.seconds(job(steps=10)) == pytest.approx((10 + OTHER_STEPS) * per_step)
    assert guess.seconds(job(side=512)) == pytest.approx(guess.seconds(job()) / 4)
    # ...by the family (Kandinsky 5 declares slower steps)...
    k5 = job(model="5", steps=50)
    k5_spec = DEFAULT_FAMILIES.get("5")
    assert guess.seconds(k5) == pytest.approx((50 + OTHER_STEPS) * k5_spec.step_seconds)
    # ...and by the kind of device, once the queue knows it.
    on_cpu = Estimator(device=CPU)
    assert on_cpu.seconds(job()) == pytest.approx(guess.seconds(job()) * DEVICE_FACTORS["cpu"])


def test_fallbacks_borrow_the_nearest_measurement() -> None:
    estimator = Estimator(device=GPU)
    estimator.learn([speed(MEGAPIXEL, step=0.1, other=1.0)])
    # Another task of the family runs at text to image's speed until it is measured itself.
    inpaint = job(task=Task.INPAINT, steps=20)
    assert estimator.seconds(inpaint) == pytest.approx(20 * 0.1 + 1.0)
    estimator.learn([speed(MEGAPIXEL, step=0.2, other=1.0, task="inpaint")])
    assert estimator.seconds(inpaint) == pytest.approx(20 * 0.2 + 1.0)
    # Another family measured on the device: scaled by what the two families declare.
    ratio = DEFAULT_FAMILIES.get("3").step_seconds / DEFAULT_FAMILIES.get("2.2").step_seconds
    assert estimator.seconds(job(model="3", steps=20)) == pytest.approx((20 * 0.1 + 1.0) * ratio)


def test_a_queue_that_knows_its_device_predicts_from_that_device() -> None:
    fast, slow = speed(MEGAPIXEL, step=0.1), speed(MEGAPIXEL, step=3.0, device=CPU, samples=5)
    somewhere = Estimator()
    somewhere.learn([fast, slow])
    assert somewhere.seconds(job(steps=10)) == pytest.approx(30.0)  # the most measured device
    here = Estimator(device=GPU)
    here.learn([fast, slow])
    assert here.seconds(job(steps=10)) == pytest.approx(1.0)
    elsewhere = Estimator(device="mps")  # measured nothing yet: its kind's guess
    elsewhere.learn([fast, slow])
    hint = DEFAULT_FAMILIES.get("2.2").step_seconds * DEVICE_FACTORS["mps"]
    assert elsewhere.seconds(job(steps=10)) == pytest.approx((10 + OTHER_STEPS) * hint)


def test_a_wait_adds_the_running_calls_and_the_jobs_ahead_over_the_slots() -> None:
    estimator = Estimator()
    estimator.learn([speed(MEGAPIXEL, step=0.1, other=0.0)])
    ten, twenty, sixty = job(steps=10), job(steps=20), job(steps=60)  # 1 s, 2 s, 6 s
    assert estimator.until_done(sixty, []) == pytest.approx(6.0)
    # One device: the running call's 3 s left, then 1 + 2 s ahead, then itself.
    assert estimator.until_done(sixty, [ten, twenty], busy=[3.0]) == pytest.approx(12.0)
    # Two devices: the jobs ahead take the first free one each (1 s on the idle device,
    # then 2 s more there), and the 60-step job the next free at 3 s.
    assert estimator.until_done(sixty, [ten, twenty], busy=[3.0], slots=2) == pytest.approx(9.0)
    # A running job is left what it has not run yet, and a little when it runs late.
    assert estimator.left([sixty], 4.0) == pytest.approx(2.0)
    assert estimator.left([sixty, ten], 4.0) == pytest.approx(3.0)  # a batch adds up
    assert 0 < estimator.left([sixty], 10.0) < 1.0


def test_a_call_is_timed_from_its_step_stamps() -> None:
    timing = CallTiming.of(GPU, 2, [1.0, 1.5, 2.0, 2.5], seconds=3.0)
    assert timing == CallTiming(GPU, 2, 4, 0.5, 1.0)
    assert CallTiming.of(GPU, 1, [1.0], seconds=1.0) is None  # one step: nothing to tell by


# -- the speeds table -------------------------------------------------------------------------
async def test_speeds_are_moving_averages_shared_through_the_store(store: Store) -> None:
    assert await store.speeds() == []
    first = await store.record_speed("2.2", "text2img", GPU, 768 * 768, 0.10, 5.0)
    assert (first.bucket, first.samples, first.step_seconds) == (bucket(768 * 768), 1, 0.10)
    # A nearby size is the same bucket; the step time moves by ALPHA of the difference,
    # the rest of the call drops to a lower measurement at once (the first call warmed up).
    second = await store.record_speed("2.2", "text2img", GPU, 704 * 768, 0.14, 1.0)
    assert second.samples == 2
    assert second.step_seconds == pytest.approx(0.10 + ALPHA * 0.04)
    assert second.other_seconds == pytest.approx(1.0)
    # ...and rises slowly.
    third = await store.record_speed("2.2", "text2img", GPU, 768 * 768, 0.11, 3.0)
    assert third.other_seconds == pytest.approx(1.0 + ALPHA * 2.0)
    # Other sizes, tasks and devices have rows of their own; two workers at once both count.
    await asyncio.gather(
        store.record_speed("2.2", "text2img", CPU, 64 * 64, 0.01, 0.1),
        store.record_speed("2.2", "text2img", CPU, 64 * 64, 0.01, 0.1),
        store.record_speed("2.2", "img2img", GPU, 768 * 768, 0.1, 1.0),
    )
    rows = {(row.task, row.device, row.bucket): row for row in await store.speeds()}
    assert len(rows) == 3
    assert rows["text2img", CPU, bucket(64 * 64)].samples == 2
    assert rows["text2img", GPU, bucket(768 * 768)].samples == 3


def test_buckets_group_sizes_within_a_factor_of_about_1_4() -> None:
    assert bucket(768 * 768) == bucket(704 * 768) == bucket(736 * 800)
    assert [bucket(side * side) for side in (512, 768, 1024)] == [36, 38, 40]
    assert bucket(0) == 0


# -- the queues -------------------------------------------------------------------------------
async def test_the_embedded_queue_guesses_for_its_engines_device_until_it_measured(
    store: Store, service: Any
) -> None:
    warming = WarmingEngine(lambda: service, ["2.2"])
    assert warming.device() is None  # not built yet
    await warming.service()
    assert warming.device() == CPU
    kit = make_bot(
        store,
        FakeGenerator(),
        queue_maker=lambda notifier, _: LocalQueue(
            store, FakeGenerator(), notifier, device=warming.device
        ),
    )
    queue = kit.queue
    await queue.start()
    owner = (await store.ensure_user("test", "ann", "ann")).id
    destination = cmd("ann", "imagine").destination.to_dict()
    request = job(side=768, steps=30)
    stored = await store.create_job(owner, request, destination, 1)
    assert queue.estimate(stored) == (1, pytest.approx(Estimator(device=CPU).seconds(request)))
    await queue.stop()


# -- measured on the tiny models ------------------------------------------------------------
async def test_a_60_step_job_is_estimated_from_the_speed_10_step_jobs_measured(
    service: Any, tmp_path: Path
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'kbot.db'}", tmp_path / "data")
    try:
        kit = make_bot(store, service, prepare_fn=service.prepare)
        await kit.queue.start()
        for number in range(3):
            await kit.bot.handle(cmd("ann", "imagine", f"fox {number} --size 128x128 --steps 10"))
            await kit.queue.wait_idle()
        (measured,) = await store.speeds()
        assert (measured.family, measured.task, measured.device) == ("2.2", "text2img", CPU)
        assert measured.samples == 3
        # A restarted queue reads the speeds back.
        await kit.queue.stop()
        kit = make_bot(store, service, prepare_fn=service.prepare)
        await kit.queue.start()
        request = service.prepare(job(side=128, steps=60, prior_steps=None))
        owner = (await store.ensure_user("test", "ann", "ann")).id
        destination = cmd("ann", "imagine").destination.to_dict()
        stored = await store.create_job(owner, request, destination, 1)
        position, predicted = kit.queue.estimate(stored)
        learned = Estimator(device=CPU)
        learned.learn(await store.speeds())
        assert position == 1
        assert predicted == pytest.approx(learned.seconds(request))
        rate = learned.rate("2.2", Task.TEXT2IMG, 128 * 128)
        (measured,) = await store.speeds()
        assert (rate.step, rate.other) == (measured.step_seconds, measured.other_seconds)
        assert predicted == pytest.approx(60 * rate.step + rate.other)
        await kit.queue.stop()
    finally:
        await store.close()
