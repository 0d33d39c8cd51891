"""`make bench-scale`: the procrastinate queue with one and with two worker processes.

Tiny models on the CPU, each worker limited to one thread (OMP_NUM_THREADS=1), a private
PostgreSQL server (Debian's binaries, as in the tests). Prints:

- throughput (jobs/s) with one worker and with two, and their ratio: two workers run all the
  time; for the one-worker rounds the second is paused (SIGSTOP) while idle. A round measures
  one worker, then two, back to back, and gives one ratio; the median of five rounds counts
  (a shared machine's speed drifts by tens of percent over minutes, so only measurements
  taken close together are compared);
- defer-to-start latency of an idle worker (median of several jobs);
- recovery: SIGKILL the worker running a job; seconds until another worker starts it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.jobs.distributed import ProcrastinateQueue  # noqa: E402
from generation.request import GenerationRequest  # noqa: E402
from storage.records import JobStatus  # noqa: E402
from storage.store import Store  # noqa: E402

JOBS = 12
USERS = 6
JOB = {"width": 128, "height": 128, "steps": 100, "prior_steps": 2}
QUICK = {"width": 64, "height": 64, "steps": 2, "prior_steps": 2}
LONG = {"width": 128, "height": 128, "steps": 150, "prior_steps": 2}


class _Silent:
    """JobEvents that ignore everything (the benchmark reads the jobs table)."""

    async def job_started(self, job: Any) -> None:
        """Ignored."""

    async def job_progress(self, job: Any, done: int, total: int) -> None:
        """Ignored."""

    async def job_done(self, job: Any, images: Any) -> None:
        """Ignored."""

    async def job_failed(self, job: Any, reason: str) -> None:
        """Ignored."""

    async def job_recovered(self, job: Any, outcome: str) -> None:
        """Ignored."""


def tiny_models() -> Path:
    """The tiny registry, built once under .kbot/."""
    folder = ROOT / ".kbot" / "tiny-models"
    registry = folder / "registry.json"
    if not registry.is_file():
        from generation.engine.tiny import build_tiny_models

        return build_tiny_models(folder)
    return registry


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One `kandinsky-bot worker` process; returns once it serves."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "-v", "worker", "--device", "cpu", "--models", "2.2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 180
    while b"serving" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text(errors="replace"))
        time.sleep(0.1)
    time.sleep(0.5)  # the procrastinate worker loop starts right after
    return process


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker and wait."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=120)


async def submit(store: Store, queue: ProcrastinateQueue, user: int, **size: int) -> int:
    """Store and defer one 2.2 text2img job of user number `user`; return its id."""
    account = await store.ensure_user("bench", str(user), f"user{user}")
    request = GenerationRequest(model="2.2", prompt=f"a fox {user}", seed=user, **size)
    job = await store.create_job(account.id, request, {"platform": "bench"}, 1)
    await queue.submit(job)
    return job.id


async def until_idle(store: Store, every: float = 0.1) -> None:
    """Poll until nothing is queued or running."""
    while await store.count_active():  # noqa: ASYNC110 - other processes change it
        await asyncio.sleep(every)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def throughput(url: str, data: Path, jobs: int = JOBS, **size: int) -> float:
    """Jobs per second for `jobs` jobs from USERS users on the workers running now."""
    store = await Store.open(url, data, default_daily_limit=10_000)
    # No LISTEN here: this process shares the two cores with the workers.
    queue = ProcrastinateQueue(store, _Silent(), url, adopt=False, listen=False)
    await queue.start()
    try:
        began = datetime.now(UTC)
        ids = {await submit(store, queue, n % USERS, **(size or JOB)) for n in range(jobs)}
        # Slow polling (this process shares the cores); the end is read from the jobs table.
        await until_idle(store, every=1.0)
        done = [job for job in await store.jobs((JobStatus.DONE,)) if job.id in ids]
        assert len(done) == jobs, "some jobs did not finish"
        ended = max(_utc(job.finished_at or began) for job in done)
        return jobs / (ended - began).total_seconds()
    finally:
        await queue.stop()
        await store.close()


async def latency(url: str, data: Path, samples: int = 7) -> float:
    """Median seconds from defer to `running` for an idle worker."""
    store = await Store.open(url, data, default_daily_limit=10_000)
    queue = ProcrastinateQueue(store, _Silent(), url, adopt=False)
    await queue.start()
    seconds = []
    try:
        for n in range(samples):
            before = datetime.now(UTC)
            job_id = await submit(store, queue, 100 + n, **QUICK)
            await until_idle(store)
            job = await store.get_job(job_id)
            assert job is not None and job.started_at is not None
            started = job.started_at.replace(tzinfo=job.started_at.tzinfo or UTC)
            seconds.append((started - before).total_seconds())
        return statistics.median(seconds)
    finally:
        await queue.stop()
        await store.close()


async def recovery(url: str, data: Path, workers: list[subprocess.Popen[bytes]]) -> float:
    """SIGKILL the worker running a long job; seconds until another worker starts it."""
    store = await Store.open(url, data, default_daily_limit=10_000)
    queue = ProcrastinateQueue(store, _Silent(), url, adopt=False)
    await queue.start()
    try:
        job_id = await submit(store, queue, 999, **LONG)
        while (job := await store.get_job(job_id)) is None or job.status != JobStatus.RUNNING:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        pid = await _worker_pid(queue, job_id)
        victim = next(process for process in workers if process.pid == pid)
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while (job := await store.get_job(job_id)) is None or job.attempts < 2:
            await asyncio.sleep(0.05)
            if time.monotonic() - killed > 120:
                raise RuntimeError("the job was not retried")
        recovered = time.monotonic() - killed
        await until_idle(store)
        return recovered
    finally:
        await queue.stop()
        await store.close()


async def _worker_pid(queue: ProcrastinateQueue, job_id: int) -> int:
    while job_id not in queue.workers:  # noqa: ASYNC110 - filled by notifications
        await asyncio.sleep(0.02)
    return int(queue.workers[job_id].split(":")[-2])


def main() -> int:
    """Run the three measurements and print them."""
    from tests.postgres import _start, _stop, fresh_postgres_database

    models = tiny_models()
    folder = Path(tempfile.mkdtemp(prefix="kbot-bench-pg-"))
    server = _start(folder)
    try:
        server.run("createdb", "--host", str(folder), "--username=postgres", "kbot")
        url = fresh_postgres_database(f"postgresql+asyncpg://postgres@/kbot?host={folder}")
        results = _measure(url, models, folder)
    finally:
        _stop(server)
    one, two = statistics.median(results["one"]), statistics.median(results["two"])
    ratios = [b / a for a, b in zip(results["one"], results["two"], strict=True)]
    shape = f"median of {ROUNDS}; {JOBS} jobs, {USERS} users"
    print(f"throughput, 1 worker : {one:.2f} jobs/s ({shape})")
    print(f"throughput, 2 workers: {two:.2f} jobs/s (median of {ROUNDS})")
    rounds = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"ratio 2/1            : {statistics.median(ratios):.2f} (median; rounds: {rounds})")
    print(f"defer-to-start (idle worker, median): {results['latency'][0] * 1000:.0f} ms")
    print(f"killed worker's job restarted after : {results['recovery'][0]:.1f} s")
    return 0


ROUNDS = 5


def _measure(url: str, models: Path, folder: Path) -> dict[str, list[float]]:
    """Two workers; for the one-worker figure the second is paused (SIGSTOP) while idle.

    Rounds alternate one and two workers, so slow drifts of the machine hit both alike.
    """
    data = folder / "data"
    env = {
        **os.environ,
        "KBOT_QUEUE": "procrastinate",
        "KBOT_DATABASE_URL": url,
        "KBOT_DATA_DIR": str(data),
        "KBOT_MODELS": str(models),
        "KBOT_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, cwd=ROOT)
    workers = [start_worker(env, folder / f"worker-{n}.log") for n in range(2)]
    results: dict[str, list[float]] = {"one": [], "two": []}
    try:
        asyncio.run(throughput(url, data, 4, **QUICK))  # warm-up: first calls are slower
        for _ in range(ROUNDS):
            workers[1].send_signal(signal.SIGSTOP)
            try:
                results["one"].append(asyncio.run(throughput(url, data)))
            finally:
                workers[1].send_signal(signal.SIGCONT)
            time.sleep(HEARTBEAT_PAUSE)
            results["two"].append(asyncio.run(throughput(url, data)))
        results["latency"] = [asyncio.run(latency(url, data))]
        results["recovery"] = [asyncio.run(recovery(url, data, workers))]
    finally:
        stop([w for w in workers if w.poll() is None])
    return results


HEARTBEAT_PAUSE = 1.0  # let the resumed worker beat and poll again


if __name__ == "__main__":
    raise SystemExit(main())
