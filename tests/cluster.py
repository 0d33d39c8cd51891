"""`kandinsky-bot worker` processes on a private PostgreSQL database, for the scale-out tests.

The workers run on the CPU with the tiny models, one thread each, and serve Kandinsky 2.2
unless told other families.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from tests.postgres import fresh_postgres_database


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

    def migrate(self) -> None:
        """`kandinsky-bot migrate`, as operators run it first."""
        done = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"], env=self.env(), capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()

    def start_worker(self, models: str = "2.2") -> subprocess.Popen[bytes]:
        """Start one more worker for `models`; return once it serves."""
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

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        """The workers still running."""
        return [process for process in self.workers if process.poll() is None]

    def freeze(self) -> None:
        """Stop every worker where it is (SIGSTOP): no job starts, a running one halts."""
        for process in self.live_workers():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let frozen workers go on (SIGCONT)."""
        for process in self.live_workers():
            process.send_signal(signal.SIGCONT)

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


@contextmanager
def running_cluster(
    server_url: str, models: Path, root: Path, workers: int, migrations: int = 1
) -> Iterator[Cluster]:
    """A new database migrated `migrations` times, `workers` worker processes (killed at the
    end)."""
    found = Cluster(fresh_postgres_database(server_url), root / "data", models)
    for _ in range(migrations):
        found.migrate()
    try:
        for _ in range(workers):
            found.start_worker()
        yield found
    finally:
        found.thaw()
        for process in found.workers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def cluster_fixture(workers: int, migrations: int = 1) -> Any:
    """A module-scoped `cluster` fixture: `running_cluster` for the tests of one module."""

    @pytest.fixture(scope="module")
    def cluster(
        postgres_url: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Cluster]:
        root = tmp_path_factory.mktemp("cluster")
        with running_cluster(postgres_url, tiny_models, root, workers, migrations) as found:
            yield found

    return cluster
