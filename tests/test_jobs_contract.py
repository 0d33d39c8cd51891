"""The `JobQueue` contract: the same scenarios against every backend the composition root picks.

Backends: the embedded queue on SQLite, the embedded queue on PostgreSQL, and procrastinate
on PostgreSQL with a `kandinsky-bot worker` process. Jobs go in through the bot's submit path
and run on the tiny models (64x64, 2 steps, one torch thread).

To let a queue build up, a test holds the backend: the embedded queue's generation stops at
its next step (a job it took waits there), a worker process is frozen (SIGSTOP).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app.root import build_queue
from bot.app.settings import Settings
from bot.jobs.lifecycle import MAX_ATTEMPTS, Teller
from bot.jobs.notify import Notifier
from generation.placement import Placement
from generation.request import GenerationRequest
from storage.records import JobRecord, JobStatus, UserRecord
from storage.store import Store
from tests.botkit import Kit, cmd, make_bot, prepare
from tests.cluster import Cluster, cluster_fixture
from tests.helpers import png, small
from tests.postgres import fresh_postgres_database

SMALL = "--size 64x64 --steps 2 --prior-steps 2 --model 2.2"
LONG = "--size 128x128 --steps 150 --prior-steps 2 --model 2.2"
BACKENDS = ["local-sqlite", "local-postgresql", "procrastinate"]


class HeldGenerator:
    """The real generation service, which a test can stop between two steps."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.go = threading.Event()
        self.go.set()
        self.stopped = threading.Event()

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Any]:
        loop = asyncio.get_running_loop()

        def on_step(done: int, total: int) -> None:
            if not self.go.is_set():
                self.stopped.set()
                self.go.wait()
                self.stopped.clear()
            if progress is not None:
                loop.call_soon_threadsafe(progress, done, total)

        results: list[Any] = await asyncio.to_thread(self.service.run, requests, on_step, cancel)
        return results


@dataclass
class Backend:
    """Where jobs are stored and run, and how a test holds them."""

    name: str
    database: str
    data: Path
    generator: HeldGenerator
    cluster: Cluster | None = None

    def settings(self, **values: Any) -> Settings:
        queue = "procrastinate" if self.cluster else "local"
        values = {"max_batch": 1, **values}
        return Settings(database_url=self.database, data_dir=self.data, queue=queue, **values)

    def hold(self) -> None:
        """Nothing runs on: no job starts, a running one stops at its next step."""
        if self.cluster is not None:
            self.cluster.freeze()
        else:
            self.generator.go.clear()

    def release(self) -> None:
        """Jobs run on."""
        if self.cluster is not None:
            self.cluster.thaw()
        else:
            self.generator.go.set()


# One worker process on a database of its own, for all the procrastinate scenarios.
cluster = cluster_fixture(workers=1)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Generate on one torch thread, as the workers do."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, service: Any, one_thread: None, tmp_path: Path
) -> Backend:
    generator = HeldGenerator(service)
    if request.param == "procrastinate":
        found: Cluster = request.getfixturevalue("cluster")
        return Backend(request.param, found.url, found.data, generator, found)
    if request.param == "local-sqlite":
        database = f"sqlite+aiosqlite:///{tmp_path / 'kbot.db'}"
    else:
        database = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    return Backend(request.param, database, tmp_path / "data", generator)


@dataclass
class Harness:
    """A bot with a fake replier on platform "test", over one backend's queue."""

    backend: Backend
    store: Store
    config: dict[str, Any]
    kit: Kit

    @classmethod
    def build(cls, backend: Backend, store: Store, **config: Any) -> Harness:
        settings = backend.settings(**{k: v for k, v in config.items() if k == "max_batch"})
        bot_config = {k: v for k, v in config.items() if k != "max_batch"}

        def queue(notifier: Notifier, repliers: dict[str, Any]) -> Any:
            return build_queue(settings, store, backend.generator, notifier, repliers)

        kit = make_bot(store, backend.generator, queue_maker=queue, **bot_config)
        return cls(backend, store, config, kit)

    async def start(self) -> None:
        await self.kit.queue.start()

    async def idle(self) -> None:
        await asyncio.wait_for(self.kit.idle(), timeout=120)

    async def restart(self) -> None:
        """Stop this bot and build a new one on the same database (as a new process)."""
        await self.kit.queue.stop()
        self.kit = Harness.build(self.backend, self.store, **self.config).kit

    async def say(self, user: str, text: str) -> int:
        """`/imagine text` from `user`; the id of the job it stored."""
        await self.kit.bot.handle(cmd(user, "imagine", text))
        return (await self.jobs(user))[-1].id

    async def jobs(self, *users: str) -> list[JobRecord]:
        """The jobs of these users, oldest first."""
        found = []
        for user in users:
            account = await self.store.find_user("test", user)
            if account is not None:
                found += await self.store.jobs(tuple(JobStatus), account.id)
        return sorted(found, key=lambda job: job.id)

    async def used(self, user: str) -> int:
        account = await self.store.find_user("test", user)
        assert account is not None
        return (await self.store.quota(account.id)).used_today

    async def hold_at_a_step(self, job_id: int) -> None:
        """Wait until job `job_id` runs and made a step, and hold it there."""
        if self.backend.cluster is None:
            self.backend.hold()
            await _until(lambda: self.backend.generator.stopped.is_set(), "a held step")
            assert job_id in [job.id for job in self.kit.queue.running()]
            return
        step = f"Job #{job_id}: "
        await _until(lambda: any(step in said for _, said, _ in self.kit.replier.progress), step)
        self.backend.hold()

    def images(self, user: str) -> int:
        return sum(who == user for who, *_ in self.kit.replier.images)


@asynccontextmanager
async def harness(backend: Backend, **config: Any) -> AsyncIterator[Harness]:
    """A bot over the backend (queue not started yet); released and stopped at the end."""
    store = await Store.open(backend.database, backend.data, default_daily_limit=1000)
    try:
        built = Harness.build(backend, store, **config)
        try:
            yield built
        finally:
            backend.release()
            await built.kit.queue.stop()
    finally:
        await store.close()


async def _until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        await asyncio.sleep(0.01)


def _ranks(jobs: list[JobRecord]) -> list[int]:
    """For jobs in start order: the how-manieth job of its owner each one is."""
    seen: dict[int, int] = {}
    ranks = []
    for job in jobs:
        seen[job.user_id] = seen.get(job.user_id, 0) + 1
        ranks.append(seen[job.user_id])
    return ranks


async def _left_behind(store: Store, user: UserRecord, prompt: str, attempts: int) -> JobRecord:
    """A job as a process that died leaves it: queued, or running after `attempts` starts."""
    request = prepare(small(prompt=prompt))
    destination = {"platform": "test", "chat_id": f"chat-{user.name}", "user_id": user.name}
    job = await store.create_job(user.id, request, {**destination, "extra": {}}, 1)
    for attempt in range(attempts):
        if attempt:
            assert await store.requeue(job.id)
        assert await store.mark_running(job.id)
    return job


# -- the scenarios ----------------------------------------------------------------------------
async def test_fair_order_across_users(backend: Backend) -> None:
    async with harness(backend) as h:
        await h.start()
        backend.hold()
        for user, count in (("ann", 3), ("bob", 3), ("cyd", 1)):  # cyd comes late
            for n in range(count):
                await h.say(user, f"{user} {n} {SMALL}")
        backend.release()
        await h.idle()
        jobs = await h.jobs("ann", "bob", "cyd")
        assert [job.status for job in jobs] == [JobStatus.DONE] * 7
        started = sorted(jobs, key=lambda job: (job.started_at, job.id))
        # Round robin: each user's n-th job starts before anyone's (n+1)-th.
        assert _ranks(started) == sorted(_ranks(started)), started
        assert [h.images(user) for user in ("ann", "bob", "cyd")] == [3, 3, 1]


async def test_per_user_and_global_caps(backend: Backend) -> None:
    async with harness(backend, user_queue=2, queue_size=4) as h:
        await h.start()
        backend.hold()
        for n in range(3):
            await h.say("dan", f"dan {n} {SMALL}")
        assert "already have 2 jobs waiting (the limit is 2)" in h.kit.replier.said("dan")[-1]
        for n in range(2):
            await h.say("eve", f"eve {n} {SMALL}")
        await h.kit.bot.handle(cmd("fay", "imagine", f"fay {SMALL}"))
        assert "The queue is full right now (4 jobs)" in h.kit.replier.said("fay")[-1]
        assert [await h.used(user) for user in ("dan", "eve", "fay")] == [2, 2, 0]
        backend.release()
        await h.idle()
        assert [job.status for job in await h.jobs("dan", "eve", "fay")] == [JobStatus.DONE] * 4
        assert [h.images(user) for user in ("dan", "eve", "fay")] == [2, 2, 0]


async def test_cancel_a_queued_and_a_running_job(backend: Backend) -> None:
    async with harness(backend) as h:
        await h.start()
        running = await h.say("gil", f"long {LONG}")
        await h.hold_at_a_step(running)
        queued = await h.say("gil", f"next {SMALL}")
        # Someone else's job is a job that does not exist, and nothing happens to it.
        for words in (str(running), f"#{queued}"):
            await h.kit.bot.handle(cmd("hob", "cancel", words))
            assert h.kit.replier.said("hob")[-1] == f"There is no job #{words.strip('#')}."
        assert [job.status for job in await h.jobs("gil")] == [
            JobStatus.RUNNING,
            JobStatus.QUEUED,
        ]
        await h.kit.bot.handle(cmd("gil", "cancel"))  # the newest waiting one
        assert h.kit.replier.said("gil")[-1] == (
            f"Job #{queued} was cancelled and your quota refunded."
        )
        await h.kit.bot.handle(cmd("gil", "cancel", f"#{running}"))
        assert h.kit.replier.said("gil")[-1] == (
            f"Job #{running} is running: it stops at its next step, and your quota comes back."
        )
        backend.release()
        await h.idle()
        stopped, cancelled = await h.jobs("gil")
        assert stopped.status == JobStatus.FAILED and stopped.error == "cancelled"
        assert stopped.finished_at is not None and stopped.image_ids == ()
        assert cancelled.status == JobStatus.CANCELLED
        assert await h.used("gil") == 0
        assert h.images("gil") == 0
        told = [said for said in h.kit.replier.said("gil") if "cancelled" in said]
        assert told == [
            f"Job #{queued} was cancelled and your quota refunded.",
            f"Job #{running} was cancelled and your quota refunded.",
        ]
        assert not any("failed" in said for said in h.kit.replier.said("gil"))


async def test_cancel_of_a_job_in_a_batch_stops_no_one_else(backend: Backend) -> None:
    async with harness(backend, max_batch=2) as h:
        if not h.kit.queue.batches:
            pytest.skip(f"{backend.name} runs one job at a time")
        backend.hold()
        mine = await h.say("ida", f"mine {SMALL}")
        theirs = await h.say("jem", f"theirs {SMALL}")
        await h.start()  # both wait: the queue takes them as one batch
        await h.hold_at_a_step(mine)
        assert theirs in [job.id for job in h.kit.queue.running()]
        await h.kit.bot.handle(cmd("ida", "cancel"))  # her only job: the running one
        assert h.kit.replier.said("ida")[-1] == (
            f"Job #{mine} is running: it stops at its next step, and your quota comes back."
        )
        backend.release()
        await h.idle()
        (cancelled,) = await h.jobs("ida")
        (done,) = await h.jobs("jem")
        assert (cancelled.status, cancelled.error) == (JobStatus.FAILED, "cancelled")
        assert done.status == JobStatus.DONE
        assert [await h.used(user) for user in ("ida", "jem")] == [0, 1]
        assert [h.images(user) for user in ("ida", "jem")] == [0, 1]
        told = [said for said in h.kit.replier.said("ida") if "cancelled" in said]
        assert told == [f"Job #{mine} was cancelled and your quota refunded."]


async def test_a_crash_is_retried_once_then_failed_with_a_refund(backend: Backend) -> None:
    async with harness(backend) as h:
        user = await h.store.ensure_user("test", "hal", "hal")
        assert await h.store.reserve_quota(user.id, 3)
        waiting = await _left_behind(h.store, user, "waiting", attempts=0)
        once = await _left_behind(h.store, user, "crashed once", attempts=1)
        twice = await _left_behind(h.store, user, "crashed twice", attempts=MAX_ATTEMPTS)
        await h.start()
        await h.idle()
        ended = {job.id: job for job in await h.jobs("hal")}
        assert ended[waiting.id].status == JobStatus.DONE and ended[waiting.id].attempts == 1
        assert ended[once.id].status == JobStatus.DONE and ended[once.id].attempts == 2
        assert ended[twice.id].status == JobStatus.FAILED
        assert ended[twice.id].error == "interrupted"
        assert await h.used("hal") == 2  # the failed one refunded
        said = h.kit.replier.said("hal")
        retry = f"job #{once.id} was running; it will run once more"
        assert sum(retry in text for text in said) == 1, said
        failed = f"Sorry, job #{twice.id} failed: the bot restarted twice while it was running."
        assert [text for text in said if "failed" in text] == [f"{failed} Your quota was refunded."]
        assert h.images("hal") == 2


async def test_the_end_of_a_job_is_told_exactly_once(backend: Backend) -> None:
    async with harness(backend) as h:
        # Stored, then the process died before telling anyone.
        user = await h.store.ensure_user("test", "ivy", "ivy")
        made = await _left_behind(h.store, user, "made", attempts=1)
        await h.store.mark_done(made.id, [(png(), {"seed": 3, "model": "2.2"})])
        lost = await _left_behind(h.store, user, "lost", attempts=1)
        assert await h.store.mark_failed(lost.id, "internal")
        await h.start()
        await h.idle()
        assert h.images("ivy") == 1
        assert sum(f"job #{lost.id} failed" in text for text in h.kit.replier.said("ivy")) == 1
        # A normal run; then its end is told again, by another process's teller.
        await h.say("jon", f"a lamp {SMALL}")
        await h.idle()
        (job,) = await h.jobs("jon")
        again = Teller(h.store, h.kit.notifier, h.kit.repliers)
        await again.ended(job)
        await again.tell_untold()
        assert h.images("jon") == 1
        for _ in range(2):  # restarts: nothing to tell
            await h.restart()
            await h.start()
            await h.idle()
            assert h.kit.replier.images == [] and h.kit.replier.texts == []


async def test_compatible_jobs_run_as_one_batch(backend: Backend) -> None:
    async with harness(backend, max_batch=2) as h:
        if not h.kit.queue.batches:
            pytest.skip(f"{backend.name} runs one job at a time")
        await h.start()
        backend.hold()
        for user in ("kim", "lou", "max"):
            await h.say(user, f"{user}'s picture {SMALL}")
        backend.release()
        await h.idle()
        first, second, third = await h.jobs("kim", "lou", "max")
        assert [job.status for job in (first, second, third)] == [JobStatus.DONE] * 3

        def overlap(a: JobRecord, b: JobRecord) -> bool:
            assert a.started_at and a.finished_at and b.started_at and b.finished_at
            return a.started_at < b.finished_at and b.started_at < a.finished_at

        # The first ran alone (nothing else waited); the other two ran together.
        assert overlap(second, third) and not overlap(first, second)
        assert [h.images(user) for user in ("kim", "lou", "max")] == [1, 1, 1]
        # Each picture of the shared call is made again from its recipe alone, to the byte.
        for job, index in ((second, 0), (third, 1)):
            (image_id,) = job.image_ids
            image = await h.store.get_image(image_id)
            assert image is not None
            made = await h.store.read_image(image)
            placement = Placement.of(image.recipe)
            assert (placement.images, placement.index) == (2, index)
            request = GenerationRequest.from_recipe(image.recipe)
            again = await backend.generator.service.regenerate(request, placement)
            assert again.images == [made]
