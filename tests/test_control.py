"""Admin `models`, `preload` and `unload` on a procrastinate deployment reach the workers.

Two `kandinsky-bot worker` processes on the private PostgreSQL with the tiny models, one for
Kandinsky 2.2, one for 2.1 and 3; the frontend builds no generation service and loads no
torch. (The embedded queue's in-process control is in tests/test_console.py.)
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app.root import App, running_bot
from bot.control.database import DatabaseControl
from tests.botkit import FakeReplier, cmd
from tests.cluster import Cluster, running_cluster

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOST = socket.gethostname()


@dataclasses.dataclass
class Fleet:
    """The cluster and the names its two workers go by."""

    cluster: Cluster
    k22: str  # serves 2.2
    k21_k3: str  # serves 2.1 and 3


@pytest.fixture(scope="module")
def fleet(
    postgres_url: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    with running_cluster(postgres_url, tiny_models, root, workers=0) as cluster:
        first = cluster.start_worker("2.2")
        second = cluster.start_worker("2.1,3")
        yield Fleet(cluster, f"{HOST}:{first.pid}:cpu", f"{HOST}:{second.pid}:cpu")


@asynccontextmanager
async def frontend(fleet: Fleet) -> AsyncIterator[tuple[App, FakeReplier]]:
    settings = dataclasses.replace(fleet.cluster.settings(), admins=frozenset({"test:root"}))
    async with running_bot(settings) as app:
        replier = FakeReplier()
        app.repliers["test"] = replier
        yield app, replier


async def admin(app: App, replier: FakeReplier, words: str) -> list[str]:
    """The lines of the answer to `/admin words`."""
    await app.bot.handle(cmd("root", "admin", words))
    return replier.said("root")[-1].splitlines()


async def test_models_lists_what_each_worker_holds(fleet: Fleet) -> None:
    async with frontend(fleet) as (app, replier):
        assert app.engine is None
        assert isinstance(app.bot.services.engine, DatabaseControl)
        assert await admin(app, replier, "models") == [
            f"{fleet.k22} (cpu), serves 2.2: 2.2/prior, 2.2/text2img",
            f"{fleet.k21_k3} (cpu), serves 2.1, 3: 2.1/prior, 2.1/text2img, 3/text2img",
            "Available: 2.1, 2.2, 3, 5, 5v.",
        ]


async def test_preload_and_unload_reach_the_workers_serving_the_family(fleet: Fleet) -> None:
    a, b = fleet.k22, fleet.k21_k3
    async with frontend(fleet) as (app, replier):
        assert await admin(app, replier, "unload 3") == [
            f"{b}: unloaded 1 pipelines; it holds 2.1/prior, 2.1/text2img."
        ]
        assert await admin(app, replier, "models") == [
            f"{a} (cpu), serves 2.2: 2.2/prior, 2.2/text2img",
            f"{b} (cpu), serves 2.1, 3: 2.1/prior, 2.1/text2img",
            "Available: 2.1, 2.2, 3, 5, 5v.",
        ]
        assert await admin(app, replier, "preload 3") == [
            f"{b}: Kandinsky 3 is loaded; it holds 2.1/prior, 2.1/text2img, 3/text2img."
        ]
        assert await admin(app, replier, "unload") == [
            f"{a}: unloaded 2 pipelines; it holds nothing.",
            f"{b}: unloaded 3 pipelines; it holds nothing.",
        ]
        assert await admin(app, replier, "models") == [
            f"{a} (cpu), serves 2.2: nothing",
            f"{b} (cpu), serves 2.1, 3: nothing",
            "Available: 2.1, 2.2, 3, 5, 5v.",
        ]
        assert await admin(app, replier, "preload 2.2") == [
            f"{a}: Kandinsky 2.2 is loaded; it holds 2.2/prior, 2.2/text2img."
        ]
        # The workers' own logs tell the same story, once per request.
        logs = [path.read_text(errors="replace") for path in fleet.cluster.logs]
        assert logs[0].count(": preload 2.2") == 1 and ": preload 3" not in logs[0]
        assert logs[1].count(": preload 3") == 1 and ": preload 2.2" not in logs[1]
        audit = await app.store.audit_log(10)
        assert [entry.action for entry in audit][:3] == ["preload", "models", "unload"]


async def test_a_worker_that_does_not_answer_is_named(fleet: Fleet) -> None:
    a, b = fleet.k22, fleet.k21_k3
    stopped = fleet.cluster.workers[0]
    async with frontend(fleet) as (app, replier):
        assert isinstance(app.bot.services.engine, DatabaseControl)
        app.bot.services.engine.unload_wait = 2.0
        stopped.send_signal(signal.SIGSTOP)  # alive and listed, but answering nothing
        try:
            said = await admin(app, replier, "preload 3")  # a does not serve 3: not asked
            assert said == [f"{b}: Kandinsky 3 is loaded; it holds 3/text2img."]
            said = await admin(app, replier, "unload")
        finally:
            stopped.send_signal(signal.SIGCONT)
        assert said == [
            f"{b}: unloaded 1 pipelines; it holds nothing.",
            f"No answer yet from {a} (still working, or stopped).",
        ]


async def test_a_worker_that_stops_leaves_the_list(fleet: Fleet) -> None:
    leaving = fleet.cluster.workers[1]
    leaving.send_signal(signal.SIGTERM)
    assert leaving.wait(timeout=60) == 0
    async with frontend(fleet) as (app, replier):
        listed = await admin(app, replier, "models")
        assert [line.partition(" ")[0] for line in listed[:-1]] == [fleet.k22]
        assert await admin(app, replier, "preload 3") == ["No running worker serves Kandinsky 3."]
        await app.bot.handle(cmd("root", "language", "ru"))
        assert await admin(app, replier, "preload 3") == [
            "Ни один запущенный воркер не обслуживает Kandinsky 3."
        ]


FRONTEND = """
import asyncio, json, sys

from bot.app.root import running_bot
from bot.app.settings import Settings
from bot.chat.command import Attachment
from tests.botkit import FakeReplier, cmd
from tests.helpers import png


async def main() -> None:
    async with running_bot(Settings.from_env(dotenv=None)) as app:
        replier = FakeReplier()
        app.repliers["test"] = replier
        await app.queue.start()
        for data in (png((96, 64)), b"not a picture"):
            picture = Attachment(data, "p.png", "image/png")
            await app.bot.handle(
                cmd("una", "img2img", "a watercolor --size 64x64", attachments=(picture,))
            )
        await app.bot.handle(cmd("boss", "admin", "models"))
    said = [text for _, text in replier.texts] + [text for _, text, _ in replier.progress]
    heavy = sorted(name for name in ("torch", "diffusers", "transformers") if name in sys.modules)
    print(json.dumps({"said": said, "heavy": heavy, "service": app.engine is not None}))


asyncio.run(main())
"""


def test_a_procrastinate_frontend_loads_no_torch(fleet: Fleet) -> None:
    """The frontend of `run --no-worker`, built in a fresh interpreter by the same function:
    it checks requests and their pictures, lists the workers, and never imports torch."""
    env = {
        **fleet.cluster.env(),
        "KBOT_ADMINS": "test:boss",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", FRONTEND], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["heavy"] == [] and result["service"] is False
    said = "\n".join(result["said"])
    assert "Queued as job #" in said  # the good picture passed the check
    assert "the picture is not a PNG, JPEG or WebP picture" in said, said
    assert f"{fleet.k22} (cpu), serves 2.2" in said
