"""The worker directory on SQLite and PostgreSQL, and a frontend's control through it.

The workers here are rows written through the directory itself, as a worker process writes
them; tests/test_control.py runs real worker processes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.control.database import DatabaseControl
from bot.control.port import Holding, Outcome
from storage.store import Store
from storage.workers import WorkerDirectory


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_register_refresh_live_and_drop(store: Store) -> None:
    clock = Clock()
    directory = WorkerDirectory(store.engine, clock)
    await directory.register("a", "cuda:0", ["2.2"], ["2.2/text2img", "2.2/prior"])
    await directory.register("b", "cuda:1", ["2.1", "3"], [])
    clock.advance(10)
    await directory.register("b", "cuda:1", ["2.1", "3"], ["3/text2img"])  # a heartbeat
    recent = await directory.live(timedelta(seconds=15))
    assert [(w.name, w.device, w.families, w.loaded) for w in recent] == [
        ("a", "cuda:0", ("2.2",), ("2.2/prior", "2.2/text2img")),
        ("b", "cuda:1", ("2.1", "3"), ("3/text2img",)),
    ]
    clock.advance(10)  # a has not been seen for 20 s
    assert [w.name for w in await directory.live(timedelta(seconds=15))] == ["b"]
    await directory.drop("b")
    assert await directory.live(timedelta(seconds=15)) == []
    assert [w.name for w in await directory.live(timedelta(minutes=1))] == ["a"]


async def test_requests_replies_and_pruning(store: Store) -> None:
    clock = Clock()
    directory = WorkerDirectory(store.engine, clock)
    assert await directory.last_request_id() == 0
    first = await directory.ask("preload", "3")
    second = await directory.ask("unload", None)
    assert await directory.last_request_id() == second.id
    assert [(r.action, r.family) for r in await directory.requests_after(0)] == [
        ("preload", "3"),
        ("unload", None),
    ]
    assert [r.id for r in await directory.requests_after(first.id)] == [second.id]
    await directory.reply(first.id, "a", {"ok": True})
    await directory.reply(first.id, "a", {"ok": False})  # a second reply is ignored
    await directory.reply(first.id, "b", {"ok": False, "error": "no room"})
    replies = await directory.replies(first.id, ["a", "b", "c"])
    assert [(r.worker, r.result) for r in replies] == [
        ("a", {"ok": True}),
        ("b", {"ok": False, "error": "no room"}),
    ]
    assert [r.worker for r in await directory.replies(first.id, ["b"])] == ["b"]
    await directory.register("gone", "cpu", ["2.2"], [])
    clock.advance(7200)
    third = await directory.ask("unload", "2.2")
    await directory.register("here", "cpu", ["2.2"], [])
    await directory.prune(timedelta(hours=1))
    assert [r.id for r in await directory.requests_after(0)] == [third.id]
    assert await directory.replies(first.id, ["a", "b"]) == []
    assert [w.name for w in await directory.live(timedelta(days=1))] == ["here"]


async def test_a_frontend_hears_each_live_worker_and_names_the_silent(store: Store) -> None:
    clock = Clock()
    directory = WorkerDirectory(store.engine, clock)
    control = DatabaseControl(directory, preload_wait=30.0, unload_wait=0.5, poll=0.01)
    await directory.register("old", "cpu", ["2.2", "3"], ["3/text2img"])
    clock.advance(60)  # `old` stopped without a word: it is neither listed nor asked
    await directory.register("a", "cpu", ["2.2"], ["2.2/prior", "2.2/text2img"])
    await directory.register("b", "cpu", ["2.1", "3"], [])
    assert await control.holdings() == [
        Holding("a", "cpu", ("2.2",), ("2.2/prior", "2.2/text2img")),
        Holding("b", "cpu", ("2.1", "3"), ()),
    ]

    async def b_answers() -> None:
        requests = await directory.requests_after(0)
        while not requests:
            await asyncio.sleep(0.01)
            requests = await directory.requests_after(0)
        done = Outcome("b", True, ("3/text2img",))
        await directory.reply(requests[-1].id, "b", done.to_json())

    # Only b serves 3, and it answers (the frontend waits no longer than that).
    answering = asyncio.create_task(b_answers())
    report = await control.preload("3")
    await answering
    assert report.outcomes == (Outcome("b", True, ("3/text2img",)),)
    assert report.silent == ()
    # Unloading everything asks a and b; nobody answers within the wait.
    report = await control.unload(None)
    assert report.outcomes == ()
    assert report.silent == ("a", "b")


async def test_no_worker_serving_the_family_means_nobody_is_asked(store: Store) -> None:
    directory = WorkerDirectory(store.engine)
    control = DatabaseControl(directory, preload_wait=30.0)
    await directory.register("a", "cpu", ["2.2"], [])
    report = await control.preload("3")
    assert report.outcomes == () and report.silent == ()
    assert await directory.last_request_id() == 0
