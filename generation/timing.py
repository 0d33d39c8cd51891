"""How long one pipeline call took, split the way estimates of waiting times need it.

The engine measures each call (`generation.engine.service`); the job queue records the
measurements per model family, task, size and device and predicts from them how long a job
will take (`bot.jobs.eta`).

This module is pure: it imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CallTiming"]


@dataclass(frozen=True, slots=True)
class CallTiming:
    """One pipeline call: the device it ran on, its images, its decoder steps and their time.

    `step_seconds` is the time of one decoder step of the whole call, measured from the
    first step's end to the last one's (so a first step that compiles or warms up is not in
    it); `other_seconds` is the rest of the call (reading the pictures, the prior, decoding
    the latents, encoding the PNGs), the time spent loading checkpoints left out.
    """

    device: str
    images: int
    steps: int
    step_seconds: float
    other_seconds: float

    @classmethod
    def of(
        cls, device: str, images: int, stamps: Sequence[float], seconds: float
    ) -> CallTiming | None:
        """The timing of a call that took `seconds` (loading left out) and ended its decoder
        steps at `stamps`; None when it ran fewer than two steps (nothing to tell them by)."""
        if len(stamps) < 2 or images < 1:
            return None
        step = max(0.0, (stamps[-1] - stamps[0]) / (len(stamps) - 1))
        other = max(0.0, seconds - step * len(stamps))
        return cls(device, images, len(stamps), step, other)
