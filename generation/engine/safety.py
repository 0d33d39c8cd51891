"""The image check: a transformers `image-classification` pipeline that flags results before
they are sent (`KBOT_SAFETY`, `KBOT_SAFETY_MODEL`, `KBOT_SAFETY_THRESHOLD`).

It runs on the generation device, in the same thread as the pipelines, on every image of a
call at once, right after the call (the `checked` stage of `bot.jobs.spans`); a video by
its first, middle and last frames. An image's score is the classifier's probability for the
labels that are not safe (`SAFE_LABELS`); at or above the threshold it is flagged. The
classifier is loaded once per device and cached (`PipelineCache.classifier`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

SAFE_LABELS = frozenset({"normal", "safe", "sfw", "neutral", "drawings"})
"""Labels that mean a picture is fine; every other label counts towards its score."""


@dataclass(frozen=True, slots=True)
class SafetyCheck:
    """Which classifier checks the results, and the score that flags one."""

    model: str
    threshold: float


def unsafe_score(labels: Sequence[dict[str, Any]]) -> float:
    """The probability the classifier gives the labels that are not safe."""
    return sum(
        float(item["score"])
        for item in labels
        if str(item["label"]).strip().lower() not in SAFE_LABELS
    )


VIDEO_FRAMES = 3
"""Frames of a video the check looks at: its first, middle and last."""


def check_images(
    classifier: Callable[..., Any],
    outputs: Sequence[Image.Image | Sequence[Image.Image]],
    threshold: float,
) -> tuple[float | None, ...]:
    """Each output's score where it is flagged, else None, all in one batch through
    `classifier`: a picture's own, a video's highest of its `VIDEO_FRAMES` frames."""
    groups = [_looked_at(output) for output in outputs]
    frames = [frame for group in groups for frame in group]
    if not frames:
        return ()
    scores = iter(
        unsafe_score(labels) for labels in classifier(frames, batch_size=len(frames), top_k=None)
    )
    highest = [max(next(scores) for _ in group) for group in groups]
    return tuple(score if score >= threshold else None for score in highest)


def _looked_at(output: Image.Image | Sequence[Image.Image]) -> list[Image.Image]:
    """The frames of `output` the check looks at (a picture is its own)."""
    if isinstance(output, Image.Image):
        return [output]
    frames = list(output)
    if len(frames) <= VIDEO_FRAMES:
        return frames
    last = len(frames) - 1
    return [frames[round(i * last / (VIDEO_FRAMES - 1))] for i in range(VIDEO_FRAMES)]
