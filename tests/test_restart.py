"""Kill the bot with SIGKILL mid-job; a new process on the same database finishes everything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.app.settings import Settings
from storage.records import JobStatus
from storage.store import Store

SLOW = "--size 128x128 --steps 40 --prior-steps 2"
QUICK = "--size 64x64 --steps 2 --prior-steps 2"


def _bot(settings: Settings, data: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KBOT_MODELS": str(settings.models),
        "KBOT_DEVICE": "cpu",
        "KBOT_DATA_DIR": str(data),
        "KBOT_PROGRESS_INTERVAL": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--user", "kim", "--echo", "-o", str(data / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in:\n{seen}"
        line = process.stdout.readline()
        assert line, f"the bot exited before {marker!r}:\n{seen}"
        seen += line
    return seen


async def _jobs(data: Path) -> list:
    store = await Store.open(f"sqlite+aiosqlite:///{data / 'kbot.db'}", data)
    try:
        return await store.jobs(tuple(JobStatus))
    finally:
        await store.close()


def test_sigkill_mid_job_loses_nothing(tiny_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _bot(tiny_settings, data)
    assert first.stdin is not None
    for line in (
        f"/imagine a slow one {SLOW}",
        f"/imagine quick two {QUICK}",
        f"/imagine three {QUICK}",
    ):
        first.stdin.write(line + "\n")
    first.stdin.flush()
    _read_until(first, "Queued as job #3")
    _read_until(first, "Job #1: ▰")  # the slow job is past its first step
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    before = {job.id: job.status for job in asyncio.run(_jobs(data))}
    assert before == {1: "running", 2: "queued", 3: "queued"}

    second = _bot(tiny_settings, data)
    # Nothing new to say: it finishes what was left, then exits.
    output, _ = second.communicate(input="", timeout=300)
    assert second.returncode == 0, output
    assert "job #1 was running; it will run once more" in output
    assert "job #2 is still in the queue" in output and "job #3 is still in the queue" in output
    for job in (1, 2, 3):
        assert output.count(f"Job #{job} is done.") == 1, output
    after = asyncio.run(_jobs(data))
    assert [job.status for job in after] == [JobStatus.DONE] * 3
    assert [job.attempts for job in after] == [2, 1, 1]
    assert len(list((data / "out").glob("*.png"))) == 3
