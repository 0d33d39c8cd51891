"""How long jobs take, predicted from measured speeds, and how long a job will wait.

A job's run is, per image, its decoder steps times the seconds one step takes, plus the rest
of the pipeline call (reading its pictures, the prior of the 2.x families, decoding,
encoding). Both are measured as jobs finish (`bot.jobs.lifecycle.run` adds each call's
timing to `Store.record_speed`), per model family, task, bucket of sizes and device, so they
survive restarts and every frontend sees what every worker measured. A prediction takes,
in this order:

1. the family's own speeds on the device (its task's, else text to image's, else any of its
   tasks'), at the size asked for: between two measured sizes the speeds are interpolated by
   pixels, outside them scaled by pixels from the nearest;
2. the speeds of another family measured on the device, scaled by the two families'
   `step_seconds` (what each family declares about its speed);
3. the family's `step_seconds` itself, for a device kind (`DEVICE_FACTORS`) and scaled by
   pixels from 1024x1024: the guess until something was measured.

A queue knows which device it runs on once it has run a job here (`Estimator.device`);
until then, and on a frontend whose workers run the jobs, every device measured counts, the
one with most measurements first.

A waiting job is done once the calls running now have finished, the jobs ahead of it have
run, `slots` of them side by side (one per device or worker), and it has run itself.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest, Task
from storage.records import SpeedRecord

REFERENCE_PIXELS = 1024 * 1024
"""The size a family's `step_seconds` describes."""
DEVICE_FACTORS: dict[str, float] = {"cuda": 1.0, "mps": 8.0, "cpu": 75.0}
"""How many times slower than the GPU of a family's `step_seconds` a kind of device is."""
GUESSED_DEVICE = "cuda"
"""The kind of device guessed at before any was named: what bots mostly run on."""
OTHER_STEPS = 5.0
"""The rest of a call, in decoder steps, until it was measured."""
LEFT_AT_LEAST = 0.05
"""A running job has at least this part of its predicted time left (it runs late)."""


def device_kind(device: str) -> str:
    """`cuda`, `cpu`, `mps`... of a device as timings name it (`cuda NVIDIA H200`)."""
    return device.split(" ", 1)[0].split(":", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class Rate:
    """Per image: seconds one decoder step takes, and the rest of a call."""

    step: float
    other: float

    def scaled(self, factor: float) -> Rate:
        """Both times `factor`."""
        return Rate(self.step * factor, self.other * factor)


def rate_at(speeds: Sequence[SpeedRecord], pixels: float) -> Rate:
    """The rate at `pixels` from measured `speeds` (of one family, task and device):
    interpolated between the measured sizes around it, else scaled from the nearest."""
    ordered = sorted(speeds, key=lambda speed: speed.pixels)
    below = [speed for speed in ordered if speed.pixels <= pixels]
    above = [speed for speed in ordered if speed.pixels >= pixels]
    if below and above and above[0].pixels > below[-1].pixels:
        low, high = below[-1], above[0]
        part = (pixels - low.pixels) / (high.pixels - low.pixels)
        return Rate(
            low.step_seconds + part * (high.step_seconds - low.step_seconds),
            low.other_seconds + part * (high.other_seconds - low.other_seconds),
        )
    nearest = below[-1] if below else above[0]
    factor = pixels / nearest.pixels if nearest.pixels > 0 else 1.0
    return Rate(nearest.step_seconds, nearest.other_seconds).scaled(factor)


class Estimator:
    """Seconds a job will run and seconds until it is done, from measured speeds."""

    def __init__(self, families: Families = DEFAULT_FAMILIES, device: str | None = None) -> None:
        """Predict for `families`; `device` is the one jobs run on, when it is known."""
        self.families = families
        self.device = device
        self._speeds: dict[tuple[str, str, int, str], SpeedRecord] = {}

    def learn(self, speeds: Iterable[SpeedRecord]) -> None:
        """Take these speeds (read from the store, or just recorded) over older ones."""
        for speed in speeds:
            self._speeds[(speed.family, speed.task, speed.bucket, speed.device)] = speed

    def seconds(self, request: GenerationRequest) -> float:
        """How long a job of (resolved) `request` will likely run."""
        steps = request.decoder_steps
        if not steps and request.model in self.families:  # not resolved: the family's default
            steps = request.replace(steps=self.families.get(request.model).steps).decoder_steps
        rate = self.rate(request.model, str(request.task), request.width * request.height)
        return request.num_images * (max(1, steps) * rate.step + rate.other)

    def left(self, requests: Sequence[GenerationRequest], elapsed: float) -> float:
        """How long a call of `requests` (a batch: their times add up) that has run
        `elapsed` seconds will likely run on."""
        whole = sum(self.seconds(request) for request in requests)
        return max(whole - elapsed, whole * LEFT_AT_LEAST)

    def until_done(
        self,
        request: GenerationRequest,
        ahead: Sequence[GenerationRequest],
        busy: Sequence[float] = (),
        slots: int = 1,
    ) -> float:
        """Seconds until a job of `request` is done: after each running call's `busy`
        seconds left and the jobs `ahead` of it in the order they run, `slots` at a time."""
        free = sorted(busy)
        free += [0.0] * max(0, max(1, slots) - len(free))
        heapq.heapify(free)
        for waiting in ahead:
            heapq.heappush(free, heapq.heappop(free) + self.seconds(waiting))
        return heapq.heappop(free) + self.seconds(request)

    def rate(self, family: str, task: str, pixels: float) -> Rate:
        """The rate of `task` of `family` at `pixels` on the device (see the module)."""
        for device in self._devices():
            measured = self._measured(family, task, device, pixels)
            if measured is not None:
                return measured
            borrowed = self._other_family(family, device, pixels)
            if borrowed is not None:
                other, rate = borrowed
                return rate.scaled(self._hint(family) / self._hint(other))
        kind = device_kind(self.device) if self.device else GUESSED_DEVICE
        step = self._hint(family) * DEVICE_FACTORS.get(kind, 1.0) * pixels / REFERENCE_PIXELS
        return Rate(step, step * OTHER_STEPS)

    def _devices(self) -> list[str]:
        """The device of this queue if it was measured, else every one, most measured first."""
        counts: dict[str, int] = {}
        for speed in self._speeds.values():
            counts[speed.device] = counts.get(speed.device, 0) + speed.samples
        if self.device is not None:
            return [self.device] if self.device in counts else []
        return sorted(counts, key=lambda device: -counts[device])

    def _measured(self, family: str, task: str, device: str, pixels: float) -> Rate | None:
        mine = [s for s in self._speeds.values() if s.family == family and s.device == device]
        tasks = sorted({speed.task for speed in mine})
        for chosen in (task, Task.TEXT2IMG.value, *tasks):
            speeds = [speed for speed in mine if speed.task == chosen]
            if speeds:
                return rate_at(speeds, pixels)
        return None

    def _other_family(self, family: str, device: str, pixels: float) -> tuple[str, Rate] | None:
        """The text to image rate of another known family measured on `device`, if any."""
        others = {speed.family for speed in self._speeds.values() if speed.device == device}
        for other in sorted(others - {family}):
            rate = self._measured(other, Task.TEXT2IMG.value, device, pixels)
            if other in self.families and rate is not None:
                return other, rate
        return None

    def _hint(self, family: str) -> float:
        """What the family declares about its speed (1.0 for one nobody declared)."""
        return self.families.get(family).step_seconds if family in self.families else 1.0
