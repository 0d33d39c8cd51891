"""The worker directory on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
