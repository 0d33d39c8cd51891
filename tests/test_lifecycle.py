"""The pure parts of the job lifecycle: failure reasons (waiting times: test_eta.py)."""

from __future__ import annotations

from bot.i18n.catalogue import reason_of
from bot.jobs.lifecycle import CANCELLED, INTERNAL, classify
from generation.request import GenerationCancelled, RequestError


def test_a_failure_is_told_by_what_raised_it() -> None:
    refusal = RequestError.of("image", None, "needs_picture", task="img2img")
    assert classify(GenerationCancelled("cancelled")) == CANCELLED
    assert classify(refusal) == reason_of(refusal)
    assert classify(RuntimeError("out of memory")) == INTERNAL
    # Stopped on purpose: whatever the pipeline raised on the way out.
    assert classify(RuntimeError("broken pipe"), cancelled=True) == CANCELLED
