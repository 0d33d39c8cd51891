"""What a new user meets in `kandinsky-bot chat`: one scripted session through the command line.

The banner and its defaults, /help with the console's own keys, lines that start nothing (one
word, a missing file), quoted file names, plain prompts on the CPU defaults, phone dashes, the
seed limit, file names shared with `generate`, /quit and Ctrl-D, /cancel of a running job, and
Ctrl-C on a real process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.app.console import CPU_SIZE, CPU_STEPS, Stopped, run_console
from bot.app.settings import Settings
from bot.i18n.catalogue import text
from generation.request import MAX_SEED
from generation.version import bot_version
from tests.helpers import png

ROOT = Path(__file__).resolve().parents[1]
SMALL = "--size 64x64 --steps 2 --prior-steps 2"
NAME = re.compile(r"kandinsky-(\d{3})-([a-z0-9]+)-2\.2-(\d+)\.png")


@pytest.fixture
def offline(tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder to work in, with the tiny models on the CPU."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KBOT_MODELS", str(tiny_models))
    monkeypatch.setenv("KBOT_DEVICE", "cpu")
    monkeypatch.setenv("KBOT_PROGRESS_INTERVAL", "0")
    for name in ("KBOT_DATA_DIR", "KBOT_DATABASE_URL", "KBOT_QUEUE", "KBOT_DEFAULT_STEPS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def typed(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    """Standard input as a pipe that holds `lines` and then ends (Ctrl-D)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))


def answers(transcript: str) -> dict[str, str]:
    """Each echoed line and what the console printed after it."""
    said: dict[str, str] = {}
    for block in transcript.split("\n> ")[1:]:
        line, _, answer = block.partition("\n")
        said[line] = said.get(line, "") + answer
    return said


def test_a_new_users_session(
    offline: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (offline / "my photo.png").write_bytes(png((96, 64)))
    made = ["generate", "a lighthouse", "--seed", "9", *SMALL.split(), "-o", "out"]
    assert main(made) == 0
    capsys.readouterr()
    lines = [
        "/help",
        "clear",
        "help",
        "/img2img missing.png a watercolor",
        "/img2img pictures/gone.jpg a watercolor",
        '/img2img "my photo.png" a watercolor --strength 0.5 --steps 2 --seed 1',
        f"/mix a cat::0.3 | 'my photo.png'::0.7 {SMALL}",
        "a fox in the snow --seed 3",
        "a fox —seed 4 –size 64x64 --steps 2 —prior-steps 2",
        "/imagine a fox --seed -1",
        f"/imagine a fox --seed {MAX_SEED + 1}",
        "/show 3",
        "/show 4",
        "/quit",
        f"/imagine never read {SMALL}",
    ]
    typed(monkeypatch, lines)
    assert main(["chat", "--echo", "--wait", "-o", "out"]) == 0
    out, err = capsys.readouterr()
    banner, _, _ = out.partition("> /help")
    assert f"Kandinsky bot {bot_version()} is ready: type a command." in banner
    assert (
        f"No GPU here, so a prompt gets Kandinsky 2.2, {CPU_SIZE}x{CPU_SIZE}, {CPU_STEPS} steps: "
        "a picture in seconds." in banner
    )
    sep = os.sep
    assert (
        f"Pictures are saved in out{sep}; the database and its copies of them are in data{sep}."
        in banner
    )
    assert text("en", "console_help") in banner
    said = answers(out)
    assert "I draw pictures with Kandinsky" in said["/help"]
    assert "/quit or Ctrl-D leaves" in said["/help"] and "Ctrl-C stops" in said["/help"]
    assert said["clear"].startswith("“clear” is not a command") and "/help" in said["clear"]
    assert said["help"] == "Commands start with a slash: /help. Type /help for all of them."
    assert said[lines[3]].startswith("There is no file missing.png.")
    assert said[lines[4]].startswith("There is no file pictures/gone.jpg.")
    for line in lines[5:9]:
        assert re.search(r"Job #\d+ is done\.", said[line]), (line, out)
    limit = f"--seed must be between 0 and {MAX_SEED}, got"
    assert f"{limit} -1" in said[lines[9]] and f"{limit} {MAX_SEED + 1}" in said[lines[10]]
    assert "e+09" not in out
    # A plain prompt has the CPU defaults; its options, phones' dashes too, win over them.
    plain = f"text2img, Kandinsky 2.2, {CPU_SIZE}x{CPU_SIZE}, seed 3, {CPU_STEPS} steps"
    assert plain in said["/show 3"]
    assert "text2img, Kandinsky 2.2, 64x64, seed 4, 2 steps" in said["/show 4"]
    assert "never read" not in out and "Traceback" not in out + err
    # The console names its pictures as `generate` does, numbering on after it.
    names = sorted(path.name for path in (offline / "out").iterdir())
    found = [NAME.fullmatch(name) for name in names]
    assert all(found), names
    numbers_and_tasks = [(int(m[1]), m[2]) for m in found if m]
    assert numbers_and_tasks == [
        (1, "text2img"),
        (2, "img2img"),
        (3, "mix"),
        (4, "text2img"),
        (5, "text2img"),
    ]
    assert [m[3] for m in found if m][3:] == ["3", "4"]
    assert f"out{sep}{names[3]}\n" in said["a fox in the snow --seed 3"]
    assert (offline / "data" / "kbot.db").is_file()


async def _lines(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


@pytest.mark.parametrize("lang", ["ru", "ar"])
def test_the_banner_and_refusals_speak_the_language(
    lang: str, tiny_settings: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(tiny_settings, data_dir=tmp_path / "data")
    out = io.StringIO()
    lines = ["/help", "clear", "/img2img gone.png a fox"]
    asyncio.run(run_console(settings, tmp_path, lines=_lines(lines), out=out, lang=lang))
    shown = out.getvalue()
    for key, values in [
        ("console_ready", {"version": bot_version()}),
        ("console_help", {}),
        ("console_one_word", {"word": "clear"}),
        ("console_no_file", {"name": "gone.png"}),
    ]:
        assert text(lang, key, **values) in shown
    assert shown.count(text(lang, "console_help")) == 2  # in the banner and in /help


def test_explicit_defaults_win_over_the_cpu_ones(
    offline: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KBOT_DEFAULT_STEPS", "3")
    monkeypatch.setenv("KBOT_DEFAULT_SIZE", "128")
    typed(monkeypatch, ["a small fox --seed 5", "/show 1"])
    assert main(["chat", "--echo", "--wait"]) == 0
    out = capsys.readouterr().out
    assert "so a prompt gets Kandinsky 2.2, 128x128, 3 steps: a picture in seconds." in out
    said = answers(out)
    assert "text2img, Kandinsky 2.2, 128x128, seed 5, 3 steps" in said["/show 1"]
    assert [path.name for path in (offline / "outputs").iterdir()] == [
        "kandinsky-001-text2img-2.2-5.png"
    ]


def test_cancel_stops_a_running_job(tiny_settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(tiny_settings, data_dir=tmp_path / "data")
    out = io.StringIO()
    lines = ["/imagine a slow fox --steps 150 --size 256x256", "/cancel", "/quota"]
    stopped = asyncio.run(run_console(settings, tmp_path / "out", lines=_lines(lines), out=out))
    shown = out.getvalue()
    assert stopped is Stopped.FINISHED
    assert "Job #1 was cancelled and your quota refunded." in shown, shown
    assert "Job #1 is done." not in shown
    assert not (tmp_path / "out").exists()


def _read_lines(stream: io.TextIOBase, into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def test_ctrl_c_cancels_the_running_job_and_exits_130(offline: Path) -> None:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    shown: list[str] = []
    printed: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        threading.Thread(target=_read_lines, args=(process.stdout, printed), daemon=True).start()
        process.stdin.write("/imagine a slow fox --steps 150 --size 512x512\n")
        process.stdin.flush()  # and standard input stays open: only Ctrl-C ends the session
        try:
            while "/150" not in (shown[-1] if shown else ""):  # the job is running
                line = printed.get(timeout=300)
                assert line is not None, "".join(shown)
                shown.append(line)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
        while (line := printed.get(timeout=60)) is not None:
            shown.append(line)
    transcript = "".join(shown)
    assert code == 130, transcript
    assert "Stopping: your jobs are cancelled." in transcript
    assert "Job #1 was cancelled and your quota refunded." in transcript
    assert "Traceback" not in transcript and "KeyboardInterrupt" not in transcript
    # The job stays cancelled: the next session neither runs it again nor charged for it.
    again = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="/quota\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert "Today you have used 0 of 50 images" in again.stdout
    assert "restarted" not in again.stdout
    assert not (offline / "outputs").exists()
