"""A scale-out cluster for tests: a PostgreSQL database, a data folder, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.app.settings import Settings


@dataclass
class Cluster:
    """A database, a shared data folder and the worker processes on them."""

    url: str
    data: Path
    models: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KBOT_QUEUE": "procrastinate",
            "KBOT_DATABASE_URL": self.url,
            "KBOT_DATA_DIR": str(self.data),
            "KBOT_MODELS": str(self.models),
            "KBOT_DEVICE": "cpu",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }

    def start_worker(self, models: str = "2.2") -> subprocess.Popen[bytes]:
        """Start `kandinsky-bot worker` for `models`; return once it serves."""
        log = self.data.parent / f"worker-{len(self.workers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "-v",
                    "worker",
                    "--device",
                    "cpu",
                    "--models",
                    models,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
            )
        self.workers.append(process)
        self.logs.append(log)
        deadline = time.monotonic() + 120
        while b"serving" not in log.read_bytes():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        return process

    def settings(self) -> Settings:
        return Settings(
            models=self.models,
            device=("cpu",),
            data_dir=self.data,
            database_url=self.url,
            queue="procrastinate",
            progress_interval=0.0,
            daily_limit=1000,
        )


def migrate(cluster: Cluster) -> None:
    """`kandinsky-bot migrate`, twice (it is idempotent)."""
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"], env=cluster.env(), capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()


def stop_all(cluster: Cluster) -> None:
    """Kill the workers still running."""
    for process in cluster.workers:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
