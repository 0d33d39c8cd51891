"""Start-up: a process that generates for itself answers before its engine is built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

EMBEDDED = """
import asyncio, json, sys
from bot.app.root import running_bot
from bot.app.settings import Settings
from tests.botkit import FakeReplier, cmd


async def main() -> None:
    async with running_bot(Settings.from_env(dotenv=None)) as app:
        replier = FakeReplier()
        app.repliers["test"] = replier
        await app.queue.start()
        await app.bot.handle(cmd("ada", "quota"))
        before = "torch" in sys.modules
        await app.bot.handle(cmd("ada", "imagine", "a fox --size 64x64 --steps 2 --prior-steps 2"))
        await app.idle()
    print(json.dumps({"before": before, "after": "torch" in sys.modules,
                      "answered": len(replier.texts), "images": len(replier.images)}))


asyncio.run(main())
"""


def test_the_engine_is_built_when_the_first_job_needs_it(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "KBOT_MODELS": str(tiny_settings.models),
        "KBOT_DEVICE": "cpu",
        "KBOT_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", EMBEDDED], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"before": False, "after": True, "answered": 1, "images": 1}
