"""Scale-out on a real PostgreSQL: one in-process frontend, two `kandinsky-bot worker` processes.

The workers run on the CPU with the tiny models, one thread each. Jobs go through procrastinate;
results come back through our jobs table and `pg_notify`.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app.root import App, running_bot
from bot.app.settings import Settings
from bot.jobs.distributed import (
    REFRESH_SECONDS,
    Notice,
    ProcrastinateQueue,
    apply_schema,
    conninfo,
    queue_name,
)
from storage.records import JobStatus
from tests.botkit import FakeReplier, cmd
from tests.cluster import Cluster, cluster_fixture
from tests.postgres import fresh_postgres_database

pytestmark = pytest.mark.slow

QUICK = "--size 64x64 --steps 30 --prior-steps 2 --model 2.2"
LONG = "--size 128x128 --steps 150 --prior-steps 2 --model 2.2"
HEAVY = {"torch", "diffusers", "transformers"}


# Two workers (the tests may kill and start them); migrated twice, since that is idempotent.
cluster = cluster_fixture(workers=2, migrations=2)


@asynccontextmanager
async def frontend(cluster: Cluster) -> AsyncIterator[tuple[App, FakeReplier]]:
    """The bot with a fake replier on platform `test`, its queue started."""
    async with running_bot(cluster.settings()) as app:
        replier = FakeReplier()
        app.repliers["test"] = replier
        await app.queue.start()
        yield app, replier


def _queue(app: App) -> ProcrastinateQueue:
    assert isinstance(app.queue, ProcrastinateQueue)
    return app.queue


async def _until(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _latest_job(app: App, user: str) -> int:
    account = await app.store.find_user("test", user)
    assert account is not None
    jobs = await app.store.jobs(tuple(JobStatus), account.id)
    return jobs[-1].id


def test_helpers() -> None:
    assert queue_name("2.2") == "kbot-2.2"
    assert Notice.parse("progress:12:3:8") == Notice("progress", 12, ("3", "8"))
    assert Notice.parse("junk") is None
    assert "host=/tmp/x" in conninfo("postgresql+asyncpg://postgres@/kbot?host=/tmp/x")


async def test_twelve_jobs_four_users_fair_and_spread(cluster: Cluster) -> None:
    users = ["ann", "bob", "cyd", "dan"]
    async with frontend(cluster) as (app, replier):
        cluster.freeze()  # all 12 are queued before a worker takes any
        try:
            for user in users:
                for n in range(3):
                    await app.bot.handle(cmd(user, "imagine", f"{user} {n} {QUICK} --seed {n}"))
        finally:
            cluster.thaw()
        await asyncio.wait_for(app.idle(), timeout=120)
        jobs = await app.store.jobs(tuple(JobStatus))
        assert [job.status for job in jobs] == [JobStatus.DONE] * 12
        assert len(replier.images) == 12
        for user in users:
            assert sum(who == user for who, *_ in replier.images) == 3
        ran_on = _queue(app).workers
        assert len({ran_on[job.id] for job in jobs}) == 2, ran_on
        started = sorted(jobs, key=lambda job: job.started_at or job.created_at)
        # Round robin: each user's n-th job starts before anyone's (n+1)-th.
        rounds = [{job.user_id for job in started[k : k + 4]} for k in (0, 4, 8)]
        assert all(len(users_in_round) == 4 for users_in_round in rounds), started
        # Both workers timed their jobs into one shared row; the frontend predicts from it.
        (speed,) = await app.store.speeds()
        assert (speed.family, speed.task, speed.device, speed.samples) == (
            "2.2",
            "text2img",
            "cpu",
            12,
        )
        alone = speed.step_seconds * 30 + speed.other_seconds
        expected = (1, pytest.approx(alone))
        await _until(lambda: _queue(app).estimate(jobs[0]) == expected, 5, "the speeds read")


async def test_same_png_as_embedded(cluster: Cluster, service: object) -> None:
    from generation.engine.service import GenerationService

    assert isinstance(service, GenerationService)
    async with frontend(cluster) as (app, _replier):
        await app.bot.handle(cmd("eve", "imagine", f"a red fox {QUICK} --seed 42"))
        await asyncio.wait_for(app.idle(), timeout=60)
        job = await app.store.get_job(await _latest_job(app, "eve"))
        assert job is not None and job.status == JobStatus.DONE
        image = await app.store.get_image(job.image_ids[0])
        assert image is not None
        distributed = await app.store.read_image(image)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers run (float sums depend on the split)
    try:
        embedded = await service.generate(job.request)
    finally:
        torch.set_num_threads(threads)
    assert embedded.images[0] == distributed


async def test_sigkill_worker_job_finishes_on_the_other(cluster: Cluster) -> None:
    async with frontend(cluster) as (app, replier):
        queue = _queue(app)
        await app.bot.handle(cmd("gus", "imagine", f"doomed {LONG}"))
        job_id = await _latest_job(app, "gus")
        await _until(lambda: job_id in queue.workers, 60, "the job to start")
        await _until(lambda: any("▰" in text for _, text, _ in replier.progress), 60, "a step")
        victim_name = queue.workers[job_id]
        victim = next(p for p in cluster.workers if f":{p.pid}:" in victim_name)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = time.monotonic()
        await asyncio.wait_for(app.idle(), timeout=60)
        recovered = time.monotonic() - killed_at
        job = await app.store.get_job(job_id)
        assert job is not None and job.status == JobStatus.DONE and job.attempts == 2
        assert queue.workers[job_id] != victim_name
        assert len(replier.images) == 1
        assert recovered < 30, recovered
    cluster.start_worker()


async def test_sigterm_worker_finishes_its_job_first(cluster: Cluster) -> None:
    async with frontend(cluster) as (app, replier):
        queue = _queue(app)
        await app.bot.handle(cmd("hal", "imagine", f"last {LONG}"))
        job_id = await _latest_job(app, "hal")
        await _until(lambda: job_id in queue.workers, 60, "the job to start")
        name = queue.workers[job_id]
        worker = next(p for p in cluster.workers if f":{p.pid}:" in name)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 60) == 0
        job = await app.store.get_job(job_id)
        assert job is not None and job.status == JobStatus.DONE and job.attempts == 1
        await asyncio.wait_for(app.idle(), timeout=30)
        assert len(replier.images) == 1
        assert queue.workers[job_id] == name


async def test_a_job_never_deferred_is_deferred_by_the_next_frontend(cluster: Cluster) -> None:
    from generation.request import GenerationRequest
    from storage.store import Store

    store = await Store.open(cluster.url, cluster.data)
    try:
        user = await store.ensure_user("test", "kay", "kay")
        request = GenerationRequest(model="2.2", prompt="orphan", width=64, height=64)
        destination = {"platform": "test", "chat_id": "chat-kay", "user_id": "kay"}
        orphan = await store.create_job(
            user.id, request.replace(steps=4, prior_steps=2), destination, 1
        )
    finally:
        await store.close()
    async with frontend(cluster) as (app, replier):
        await asyncio.wait_for(app.idle(), timeout=60)
        job = await app.store.get_job(orphan.id)
        assert job is not None and job.status == JobStatus.DONE
        assert [who for who, *_ in replier.images] == ["kay"]


async def test_cli_frontend_serves_telegram_with_the_worker_processes(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kandinsky-bot run --no-worker` as operators start it: Telegram in, a worker's PNG out.

    Run with `-X importtime`, which logs every module the process imports from start to
    exit: none of torch, diffusers or transformers is among them.
    """
    from storage.store import Store
    from tests.fake_telegram import FakeTelegram, User

    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    token = "123456:SCALE-OUT-token"
    user = User(7, "Lea", "lea", "en")
    async with FakeTelegram(token) as fake:
        env = {
            **cluster.env(),
            "KBOT_TELEGRAM_TOKEN": token,
            "KBOT_TELEGRAM_BASE_URL": fake.base_url,
            "KBOT_PROGRESS_INTERVAL": "0",
        }
        log = cluster.data.parent / "frontend.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-X", "importtime", "-m", "bot", "-v", "run", "--no-worker"),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        try:
            await fake.wait(lambda: fake.find("getUpdates"), within=120, what="polling")
            asked = fake.text(user.id, user, f"/imagine a harbour at dawn {QUICK} --seed 5")
            photo = await fake.answer(user.id, asked, ("sendPhoto", "sendDocument"), within=120)
            png = photo.files["photo" if photo.method == "sendPhoto" else "document"]
            assert png.startswith(b"\x89PNG")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 60) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    lines = log.read_text(errors="replace").splitlines()
    imported = [
        line.rpartition("|")[2].strip() for line in lines if line.startswith("import time:")
    ]
    assert "bot.jobs.distributed" in imported and "PIL.Image" in imported
    heavy = [name for name in imported if name.split(".")[0] in HEAVY]
    assert heavy == []
    shown = "\n".join(line for line in lines if not line.startswith("import time:"))
    assert "Telegram: serving as @TestBot" in shown, shown
    assert not re.search(r"worker \S+ serving", shown), shown  # no worker inside the frontend
    assert "alembic" not in shown, shown
    assert token.partition(":")[2] not in shown
    started = [
        line
        for path in cluster.logs
        for line in path.read_text(errors="replace").splitlines()
        if "started on" in line
    ]
    store = await Store.open(cluster.url, cluster.data)
    try:
        account = await store.find_user("telegram", str(user.id))
        assert account is not None
        (job,) = await store.jobs(tuple(JobStatus), account.id)
    finally:
        await store.close()
    assert job.status == JobStatus.DONE
    assert any(f"job #{job.id} started on" in line for line in started), started


async def test_a_frontend_that_hears_no_notification_still_answers_once(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The LISTEN connection is up but delivers nothing (lost notifications): the jobs table
    still tells the frontend that the job ended, and the user gets one result."""

    async def deaf(self: ProcrastinateQueue, connection: object) -> None:
        self._listening.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(ProcrastinateQueue, "_listen_on", deaf)
    async with frontend(cluster) as (app, replier):
        await app.bot.handle(cmd("xan", "imagine", f"unheard {QUICK}"))
        await asyncio.wait_for(app.idle(), timeout=60)
        await _until(lambda: replier.images, 10, "the result")
        await asyncio.sleep(2 * REFRESH_SECONDS)  # more refreshes: still one result
        assert [who for who, *_ in replier.images] == ["xan"]
        job = await app.store.get_job(await _latest_job(app, "xan"))
        assert job is not None and job.status == JobStatus.DONE


async def test_run_without_no_worker_runs_a_worker_in_process(
    postgres_url: str, tiny_models: Path, tmp_path: Path
) -> None:
    from bot.app.roles import frontend_extras

    alone = Cluster(fresh_postgres_database(postgres_url), tmp_path / "data", tiny_models)
    settings = alone.settings()
    async with running_bot(settings) as app, frontend_extras(settings, worker=True):
        replier = FakeReplier()
        app.repliers["test"] = replier
        await app.queue.start()
        await app.bot.handle(cmd("ida", "imagine", f"at home {QUICK}"))
        await asyncio.wait_for(app.idle(), timeout=120)
        assert len(replier.images) == 1
        job_id = await _latest_job(app, "ida")
        assert f":{os.getpid()}:" in _queue(app).workers[job_id]


async def test_queue_schema_is_created_once_when_all_start_together(postgres_url: str) -> None:
    """Frontend, in-process worker and `migrate` racing on a new database: no error."""
    url = fresh_postgres_database(postgres_url)
    created = await asyncio.gather(*(apply_schema(url) for _ in range(4)))
    assert sorted(created) == [False, False, False, True]
    assert await apply_schema(url) is False


async def test_in_process_worker_starts_again_after_a_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.app.worker
    from bot.app.roles import supervised_worker

    calls: list[str] = []
    again = asyncio.Event()

    async def flaky(settings: Settings, device: str, models: list[str], **_: object) -> None:
        calls.append(device)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        again.set()
        await asyncio.Event().wait()  # serves until cancelled

    monkeypatch.setattr(bot.app.worker, "run_worker", flaky)
    task = asyncio.create_task(supervised_worker(Settings(), pause=0.01))
    try:
        await asyncio.wait_for(again.wait(), timeout=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(calls) == 2
    assert task.cancelled()
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert failures and "starting it again" in failures[0].getMessage()
    assert failures[0].exc_info is not None and "went away" in str(failures[0].exc_info[1])


async def test_two_frontends_hear_one_end_and_its_owner_is_told_once(cluster: Cluster) -> None:
    """Both own the job (one took it, the other adopted it at start): both hear its end."""
    async with frontend(cluster) as (first, told_first):
        cluster.freeze()
        try:
            await first.bot.handle(cmd("uma", "imagine", f"heard twice {QUICK}"))
            job_id = await _latest_job(first, "uma")
            async with frontend(cluster) as (second, told_second):
                cluster.thaw()
                await asyncio.wait_for(first.idle(), timeout=60)
                await asyncio.wait_for(second.idle(), timeout=60)
        finally:
            cluster.thaw()
        images = told_first.images + told_second.images
        assert [who for who, *_ in images] == ["uma"]
        progress = told_first.progress + told_second.progress
        assert sum("is done" in text for _, text, _ in progress) == 1
        job = await first.store.get_job(job_id)
        assert job is not None and job.status == JobStatus.DONE
