"""Settings from the environment and `.env`, the tiny model command, and the offline demo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.app.demo import run_demo
from bot.app.settings import Settings, SettingsError
from tests.helpers import decode


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nKBOT_MAX_SIDE=1024\nexport KBOT_DEFAULT_MODEL='3'\nKBOT_COMPILE=yes\n"
    )
    settings = Settings.from_env({"KBOT_MAX_SIDE": "2048", "KBOT_DEVICE": "cuda:0, cuda:1"}, dotenv)
    assert settings.max_side == 2048
    assert settings.default_model == "3"
    assert settings.compile is True
    assert settings.device == ("cuda:0", "cuda:1")
    assert settings.limits.max_side == 2048
    assert Settings.from_env({}, tmp_path / "missing.env") == Settings()
    assert Settings.from_env({"KBOT_DEFAULT_STEPS": "12"}, None).default_steps == 12
    assert Settings.from_env({"KBOT_DEFAULT_STEPS": ""}, None).default_steps is None


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("KBOT_MAX_SIDE", "big", "whole number"),
        ("KBOT_COMPILE", "maybe", "true or false"),
        ("KBOT_DEFAULT_MODEL", "4", "one of 2.1, 2.2, 3, 5, 5v, got '4'"),
        ("KBOT_DEFAULT_STEPS", "0", "between 1 and KBOT_MAX_STEPS \\(150\\), got 0"),
        ("KBOT_DEFAULT_STEPS", "few", "whole number"),
    ],
)
def test_bad_settings_are_named(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError, match=words) as caught:
        Settings.from_env({name: value}, None)
    assert name in str(caught.value)


@pytest.mark.parametrize("url", [None, "sqlite+aiosqlite:///kbot.db"])
def test_procrastinate_needs_postgresql(url: str | None) -> None:
    environ = {"KBOT_QUEUE": "procrastinate"} | ({"KBOT_DATABASE_URL": url} if url else {})
    with pytest.raises(SettingsError, match=r"procrastinate .* needs a PostgreSQL"):
        Settings.from_env(environ, None)
    good = {**environ, "KBOT_DATABASE_URL": "postgresql+asyncpg://kbot@db/kbot"}
    assert Settings.from_env(good, None).queue == "procrastinate"
    assert Settings.from_env({}, None).queue == "local"


@pytest.mark.parametrize(
    ("environ", "argv"),
    [
        ({}, ["worker", "--device", "cpu"]),  # a worker is a procrastinate process
        ({"KBOT_DATABASE_URL": "sqlite+aiosqlite:///kbot.db"}, ["worker"]),
        ({"KBOT_QUEUE": "procrastinate"}, ["migrate"]),
        ({"KBOT_QUEUE": "procrastinate"}, ["run", "--no-worker"]),
    ],
)
def test_roles_refuse_a_queue_without_postgresql(
    environ: dict[str, str],
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("KBOT_QUEUE", "KBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    assert "needs a PostgreSQL KBOT_DATABASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "kbot.db").exists() and not (tmp_path / "data").exists()


def test_make_tiny_models_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["make-tiny-models", str(tmp_path / "models")]) == 0
    registry = Path(capsys.readouterr().out.strip())
    assert registry.name == "registry.json" and registry.is_file()
    for folder in ("k21-prior", "k22-decoder", "k22-controlnet-depth", "k3", "depth"):
        assert (tmp_path / "models" / folder).is_dir()


def test_demo_is_a_chat_session_with_one_image_per_task(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    out = io.StringIO()
    run_demo(tiny_settings, tmp_path / "demo", out=out)
    transcript = out.getvalue()
    paths = sorted((tmp_path / "demo").glob("*.png"))  # numbered in the order they were made
    recipes = [decode(path.read_bytes()).text for path in paths]  # type: ignore[attr-defined]
    assert [recipe["task"] for recipe in recipes] == [
        *("text2img", "text2img", "img2img", "inpaint", "mix", "depth", "depth", "depth"),
        *("text2img", "edit"),
    ]
    assert [recipe["model"] for recipe in recipes][-2:] == ["5", "5"]
    assert "make it night\nseed 7 · Kandinsky 5" in transcript
    assert all(str(path) in transcript for path in paths)
    assert "> /history" in transcript and "Your images, page 1 of 2:" in transcript
    assert "Kandinsky 3 has no inpainting; try model 2.2" in transcript
    (video,) = (tmp_path / "demo").glob("*.mp4")
    from generation import video as videos

    data = video.read_bytes()
    assert videos.read_recipe(data)["task"] == "animate" and videos.probe(data).frames == 5
    assert str(video) in transcript and "seed 7 · Kandinsky 5v" in transcript
    assert "Traceback" not in transcript
