"""The image check: a transformers `image-classification` pipeline that flags results before
they are sent (`KBOT_SAFETY`, `KBOT_SAFETY_MODEL`, `KBOT_SAFETY_THRESHOLD`).

It runs on the generation device, in the same thread as the pipelines, on every image of a
call at once, right after the call (the `checked` stage of `bot.jobs.spans`). An image's
score is the classifier's probability for the labels that are not safe (`SAFE_LABELS`); at or
above the threshold it is flagged. The classifier is loaded once per device and cached
(`PipelineCache.classifier`).
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


def check_images(
    classifier: Callable[..., Any], images: Sequence[Image.Image], threshold: float
) -> tuple[float | None, ...]:
    """Each image's score where it is flagged, else None: one batch through `classifier`."""
    if not images:
        return ()
    found = classifier(list(images), batch_size=len(images), top_k=None)
    scores = [unsafe_score(labels) for labels in found]
    return tuple(score if score >= threshold else None for score in scores)
