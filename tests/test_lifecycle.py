"""The pure parts of the job lifecycle: failure reasons and the ETA."""

from __future__ import annotations

from bot.i18n.catalogue import reason_of
from bot.jobs.lifecycle import CANCELLED, INTERNAL, Estimator, classify
from generation.request import GenerationCancelled, RequestError


def test_a_failure_is_told_by_what_raised_it() -> None:
    refusal = RequestError.of("image", None, "needs_picture", task="img2img")
    assert classify(GenerationCancelled("cancelled")) == CANCELLED
    assert classify(refusal) == reason_of(refusal)
    assert classify(RuntimeError("out of memory")) == INTERNAL
    # Stopped on purpose: whatever the pipeline raised on the way out.
    assert classify(RuntimeError("broken pipe"), cancelled=True) == CANCELLED


def test_the_eta_follows_measured_run_times() -> None:
    estimator = Estimator(guess=10.0, keep=2)
    assert estimator.until_done(None, running=1, slots=1) == 10.0
    estimator.measured(4.0)
    estimator.measured(2.0)  # the guess has left the window
    assert estimator.average() == 3.0
    # One running and two waiting ahead on one device: done after the fourth run.
    assert estimator.until_done(3, running=1, slots=1) == 12.0
    # Two devices share the work: done after the second round.
    assert estimator.until_done(3, running=1, slots=2) == 6.0
