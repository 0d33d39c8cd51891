"""The generation service: validated requests in, PNG (or MP4) bytes with their recipe out.

Pipelines run on one worker thread per device, never in the event loop. Compatible
requests can run as one batch (one pipeline call) and have their results split again.
Each family's pipelines module is found through the family registry it is given.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image

from generation import images, video
from generation.batching import BATCHABLE, batch_key
from generation.engine.cache import PipelineCache
from generation.engine.calls import Call, GenerationCancelled, StepCallback
from generation.engine.family import Output, load_pipelines
from generation.engine.safety import SafetyCheck, check_images
from generation.families import DEFAULT_FAMILIES, Families
from generation.intake import ImageCaps, Inputs, Intake
from generation.placement import RECIPE_KEY as PLACEMENT_KEY
from generation.placement import Placement
from generation.request import (
    MAX_SEED,
    GenerationRequest,
    Limits,
    RequestError,
    Task,
    validate,
)
from generation.timing import CallTiming
from generation.version import bot_version

log = logging.getLogger(__name__)

_SEEDS = MAX_SEED + 1
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The images made for one request: PNG bytes, each with its own seed; `timing` of the
    call that made them (None when it ran fewer than two decoder steps); when that call's
    pipeline returned (`made`) and when these PNGs were encoded (`encoded`), in
    `time.monotonic()` seconds; what the image check said (`flagged`) and when (`checked`)."""

    request: GenerationRequest
    images: list[bytes]
    seeds: list[int]
    seconds: float
    timing: CallTiming | None = None
    made: float = 0.0
    encoded: float = 0.0
    flagged: tuple[float | None, ...] = ()
    """Per image, the image check's score where it flagged the image, else None (empty:
    not checked)."""
    checked: float = 0.0
    """When the image check of the call ended (`made` when there was none)."""


class _Worker:
    """One device: its pipeline cache and the single thread that runs on it."""

    def __init__(self, cache: PipelineCache) -> None:
        self.cache = cache
        self.pending = 0
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"kbot-generate-{cache.device}"
        )


class GenerationService:
    """Runs requests on one thread per device, with an async and a synchronous API."""

    def __init__(
        self,
        caches: Sequence[PipelineCache],
        *,
        limits: Limits | None = None,
        caps: ImageCaps | None = None,
        families: Families = DEFAULT_FAMILIES,
        safety: SafetyCheck | None = None,
    ) -> None:
        """`safety`: the image check every result goes through (None: none)."""
        if not caches:
            raise ValueError("a generation service needs at least one device")
        self.limits = limits or Limits()
        self.caps = caps or ImageCaps()
        self.families = families
        self.safety = safety
        self.intake = Intake(self.limits, self.caps, families)
        self.version = bot_version()
        self._workers = [_Worker(cache) for cache in caches]
        self._lock = threading.Lock()

    @property
    def caches(self) -> list[PipelineCache]:
        """The pipeline cache of each device."""
        return [worker.cache for worker in self._workers]

    def prepare(self, request: GenerationRequest) -> GenerationRequest:
        """Validate `request` and its pictures; return it resolved (defaults, seed).

        Raises RequestError naming the bad field; cheap enough for the event loop.
        """
        return self.intake.prepare(request)

    async def generate(
        self,
        request: GenerationRequest,
        progress: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Make the images for one request on a device thread."""
        results = await self.generate_batch([request], progress, cancel)
        return results[0]

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[GenerationResult]:
        """Make images for several requests; compatible ones share one pipeline call.

        `progress(done, total)` is called on the event loop after each decoder step.
        """

        def work(cache: PipelineCache, on_step: StepCallback) -> list[GenerationResult]:
            return self.run(requests, on_step, cancel, cache)

        return await self._on_device(requests, work, progress)

    async def regenerate(
        self,
        request: GenerationRequest,
        placement: Placement,
        progress: StepCallback | None = None,
    ) -> GenerationResult:
        """Make one image again, to the byte, on a device thread: `request` is its recipe's
        (one image with its own seed), `placement` where it stood in the call that made it."""

        def work(cache: PipelineCache, on_step: StepCallback) -> GenerationResult:
            return self.rerun(request, placement, on_step, cache)

        return await self._on_device([request], work, progress)

    async def _on_device(
        self,
        requests: Sequence[GenerationRequest],
        work: Callable[[PipelineCache, StepCallback], _R],
        progress: StepCallback | None,
    ) -> _R:
        """Run `work` on the thread of the least busy device; `progress` hears on the loop."""
        loop = asyncio.get_running_loop()

        def on_step(done: int, total: int) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, done, total)

        worker = self._pick(requests)
        try:
            future: Future[_R] = worker.executor.submit(work, worker.cache, on_step)
            return await asyncio.wrap_future(future)
        finally:
            with self._lock:
                worker.pending -= 1

    def _pick(self, requests: Sequence[GenerationRequest]) -> _Worker:
        """Choose the least busy device, preferring one with the family loaded."""
        prefix = f"{requests[0].model}/" if requests else ""
        with self._lock:
            worker = min(
                self._workers,
                key=lambda w: (w.pending, not any(n.startswith(prefix) for n in w.cache.loaded())),
            )
            worker.pending += 1
        return worker

    def run(
        self,
        requests: Sequence[GenerationRequest],
        progress: StepCallback | None = None,
        cancel: threading.Event | None = None,
        cache: PipelineCache | None = None,
    ) -> list[GenerationResult]:
        """Synchronously make images for `requests` (call from a device thread).

        A request with a `placement` makes its image again in a call of its own (`rerun`).
        """
        cache = cache or self._workers[0].cache
        prepared = [
            validate(request, self.limits, self.families).resolved(self.families)
            for request in requests
        ]
        groups: dict[object, list[int]] = {}
        for index, request in enumerate(prepared):
            groups.setdefault(batch_key(request, self.families), []).append(index)
        results: list[GenerationResult | None] = [None] * len(prepared)
        for indexes in groups.values():
            first = prepared[indexes[0]]
            if first.placement:  # alone in its group (`batch_key`)
                place = Placement.of_request(first, self.limits)
                made = self.rerun(first.replace(placement=()), place, progress, cache, cancel)
                results[indexes[0]] = made
                continue
            members = [prepared[i] for i in indexes]
            for i, result in zip(
                indexes, self._run_call(cache, members, progress, cancel), strict=True
            ):
                results[i] = result
        return [result for result in results if result is not None]

    def rerun(
        self,
        request: GenerationRequest,
        placement: Placement,
        progress: StepCallback | None = None,
        cache: PipelineCache | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Synchronously make one image again (call from a device thread).

        `request` is the image's recipe: one image, its own seed. It runs in a call of the
        shape `placement` records, whose other images are its own with the neighbouring seeds
        (those the call had when it was one request's `-n`), and keeps the image at its place.
        """
        cache = cache or self._workers[0].cache
        index, count = placement.index, placement.images
        # Image i of a request has its seed + i, which may pass the limit: check the first's.
        seed = request.seed
        first = seed - index if seed is not None and seed >= index else seed
        prepared = self.prepare(request.replace(num_images=1, seed=first))
        seed = prepared.seed if seed is None else seed
        assert seed is not None
        if placement.alone:
            return self._run_call(cache, [prepared.replace(seed=seed)], progress, cancel)[0]
        if prepared.task in BATCHABLE:  # one request per image: the call is the same
            rows = [prepared.replace(seed=(seed - index + row) % _SEEDS) for row in range(count)]
            rows[index] = prepared.replace(seed=seed)
            made = self._run_call(cache, rows, progress, cancel, placement.context)[index]
            png = made.images[0]
        else:  # only a request's own images share such a call
            if seed < index:
                raise RequestError.of("file", None, "recipe_damaged")
            whole = prepared.replace(seed=seed - index, num_images=count)
            made = self._run_call(cache, [whole], progress, cancel, placement.context)[0]
            png = made.images[index]
        flagged = made.flagged[index : index + 1] if len(made.images) > 1 else made.flagged
        return dataclasses.replace(
            made, request=prepared.replace(seed=seed), images=[png], seeds=[seed], flagged=flagged
        )

    def _run_call(
        self,
        cache: PipelineCache,
        requests: list[GenerationRequest],
        progress: StepCallback | None,
        cancel: threading.Event | None,
        context: int | None = None,
    ) -> list[GenerationResult]:
        stamps: list[float] = []

        def on_step(done: int, total: int) -> None:
            stamps.append(time.perf_counter())
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("cancelled")
            if progress is not None:
                progress(done, total)

        began, loading = time.perf_counter(), cache.load_seconds
        inputs = [self._inputs(cache, request) for request in requests]
        call = Call(requests=requests, inputs=inputs, progress=on_step, context=context)
        pipelines = load_pipelines(self.families.get(requests[0].model))
        started = time.perf_counter()
        outputs = pipelines.run(cache, call)
        seconds = time.perf_counter() - started
        made = time.monotonic()
        per_request = requests[0].num_images
        if len(outputs) != per_request * len(requests):
            raise RuntimeError(
                f"pipeline returned {len(outputs)} images for {len(requests)} requests"
            )
        flagged: tuple[float | None, ...] = ()
        if self.safety is not None:
            classifier = cache.classifier(self.safety.model)
            flagged = check_images(classifier, outputs, self.safety.threshold)
        checked = time.monotonic()
        results = []
        for index, request in enumerate(requests):
            assert request.seed is not None
            pngs, seeds = [], []
            for offset in range(per_request):
                row = index * per_request + offset
                seeds.append(request.seed + offset)
                place = Placement(len(outputs), row, call.context)
                pngs.append(self._encode(outputs[row], request, seeds[-1], place))
            encoded = time.monotonic()
            mine = flagged[index * per_request : (index + 1) * per_request]
            results.append(
                GenerationResult(request, pngs, seeds, seconds, None, made, encoded, mine, checked)
            )
        spent = time.perf_counter() - began - (cache.load_seconds - loading)
        timing = CallTiming.of(cache.label, len(outputs), stamps, spent)
        return [dataclasses.replace(result, timing=timing) for result in results]

    def _encode(
        self, output: Output, request: GenerationRequest, seed: int, placement: Placement
    ) -> bytes:
        """A picture as PNG, a video as MP4, each with its recipe."""
        recipe: dict[str, Any] = {
            **request.recipe(self.families),
            "seed": seed,
            "version": self.version,
        }
        if not placement.alone:
            recipe[PLACEMENT_KEY] = placement.recipe()
        if isinstance(output, list):
            assert request.fps is not None
            return video.encode_mp4(output, request.fps, recipe)
        return images.encode_png(output, recipe)

    def _inputs(self, cache: PipelineCache, request: GenerationRequest) -> Inputs:
        inputs = self.intake.decode(request)
        if request.task is Task.DEPTH and inputs.depth is None:
            assert inputs.init is not None
            inputs.depth = estimate_depth(cache, inputs.init)
        return inputs

    def preload(self, family: str, tasks: Sequence[Task] = (Task.TEXT2IMG,)) -> None:
        """Load the pipelines `family` needs for `tasks` on every device (blocking)."""
        spec = self.families.get(family)
        pipelines = load_pipelines(spec)
        roles = {"text2img", *(["prior"] if spec.has_prior else []), *map(str, tasks)}
        for worker in self._workers:
            for role in pipelines.roles:
                if role in roles:
                    worker.cache.get(family, role, pipelines.roles)

    def close(self) -> None:
        """Finish running jobs and stop the device threads."""
        for worker in self._workers:
            worker.executor.shutdown(wait=True, cancel_futures=True)


def estimate_depth(cache: PipelineCache, picture: Image.Image) -> Image.Image:
    """Estimate a depth map (near = bright) the size of `picture`."""
    estimator: Callable[[Image.Image], dict[str, Any]] = cache.depth_estimator()
    depth: Image.Image = estimator(picture)["depth"]
    return depth.convert("L").resize(picture.size, Image.Resampling.BICUBIC)


__all__ = [
    "GenerationCancelled",
    "GenerationResult",
    "GenerationService",
    "RequestError",
    "estimate_depth",
]
