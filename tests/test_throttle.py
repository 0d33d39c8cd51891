"""The one throttle: per-message interval, per-chat budget, and the last update kept."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.throttle import Edits, Throttle


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_update_per_interval_and_the_last_always() -> None:
    clock = Clock()
    throttle = Throttle(1.0, clock=clock)
    assert throttle.admit("job")
    assert not throttle.admit("job"), "too soon"
    assert throttle.admit("other"), "each message has its own interval"
    clock.now += 0.5
    assert throttle.delay("job") == 0.5
    assert throttle.admit("job", last=True), "the last update is never held back"
    clock.now += 0.99
    assert not throttle.admit("job")
    clock.now += 0.01
    assert throttle.admit("job")
    throttle.forget("job")
    assert throttle.admit("job"), "a forgotten message starts afresh"


def test_a_chat_budget_per_minute() -> None:
    clock = Clock()
    throttle = Throttle(0.0, per_minute=2, clock=clock)
    throttle.take("a", "group")
    clock.now += 10
    throttle.take("b", "group")
    assert throttle.delay("c", "group") == 50.0, "the first edit leaves the window then"
    assert throttle.delay("c", "another group") == 0.0
    assert throttle.delay("c") == 0.0, "a message counted against no chat has no budget"
    clock.now += 50
    assert throttle.delay("c", "group") == 0.0
    assert Throttle(0.0, clock=clock).delay("c", "group") == 0.0, "no budget set"


async def test_edits_deliver_only_the_newest_value() -> None:
    delivered: list[tuple[str, str]] = []
    first = asyncio.Event()

    async def deliver(key: str, value: str) -> None:
        delivered.append((key, value))
        first.set()

    edits = Edits[str, str](Throttle(3600.0), deliver)
    edits.want("fresh", "now")
    await asyncio.wait_for(first.wait(), 30)
    assert delivered == [("fresh", "now")], "a message never edited is edited at once"

    edits.sent("status", "queued")
    edits.want("status", "queued")
    assert not edits.pending(), "what the message shows is not sent again"
    edits.want("status", "step 1")
    edits.want("status", "step 2")
    edits.want("status", "done")
    assert edits.pending() == 1
    await edits.settle(within=5)
    assert delivered[1:] == [("status", "done")], "the waiting edits collapse into the last"

    edits.want("fresh", "later")
    await edits.close()
    assert delivered[-1] == ("status", "done"), "closing drops what still waits"


async def test_a_failing_delivery_is_logged_and_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []
    called = asyncio.Event()

    async def deliver(key: str, value: str) -> None:
        calls.append(value)
        called.set()
        raise RuntimeError("the platform fell over")

    edits = Edits[str, str](Throttle(0.0), deliver)
    edits.want("status", "x")
    await asyncio.wait_for(called.wait(), 30)
    assert calls == ["x"] and not edits.pending()
    assert "updating message status failed" in caplog.text


async def test_the_interval_runs_from_the_end_of_a_slow_edit() -> None:
    """The platform sees edits an interval apart however long each took to reach it."""
    clock = Clock()
    throttle = Throttle(1.0, clock=clock)

    answered = asyncio.Event()

    async def deliver(key: str, value: str) -> None:
        clock.now += 5.0  # the platform took five seconds to answer
        answered.set()

    edits = Edits[str, str](throttle, deliver)
    edits.want("status", "step 1")
    await asyncio.wait_for(answered.wait(), 30)
    await asyncio.sleep(0)  # the edit's task records its end
    assert throttle.delay("status") == 1.0  # not 0: the edit began five seconds ago
    clock.now += 1.0
    await asyncio.wait_for(edits.finish("status", "done", deliver), 30)
    assert throttle.delay("status") == 1.0
