"""Deployment files: compose.yaml has the roles the scale-out needs, and Compose accepts it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

ROOT = Path(__file__).resolve().parent.parent


def _compose(text: str | None = None) -> dict[str, object]:
    if text is None:
        text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def _misspelt() -> str:
    """compose.yaml with one key misspelt, for the checks that must refuse it."""
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert "    restart: unless-stopped\n" in text
    return text.replace("    restart: unless-stopped\n", "    restrat: unless-stopped\n", 1)


def _follows_the_spec(text: str) -> None:
    """Parse with the Compose Specification's own types (YAML anchors resolved first)."""
    PyCompose.from_json(json.dumps(_compose(text)))


def test_compose_file_follows_the_compose_specification() -> None:
    _follows_the_spec((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_the_specification_check_refuses_a_misspelt_key() -> None:
    with pytest.raises(ValueError, match="restrat"):
        _follows_the_spec(_misspelt())


def test_compose_has_every_role() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    assert {"postgres", "migrate", "frontend", "worker-0"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    assert services["frontend"]["command"] == ["run", "--no-worker"]
    for name, service in services.items():
        if name.startswith("worker-"):
            assert service["command"][0] == "worker"
            devices = service["deploy"]["resources"]["reservations"]["devices"]
            assert devices[0]["capabilities"] == ["gpu"]
            assert service["environment"]["KBOT_QUEUE"] == "procrastinate"
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully"


def test_workers_start_after_the_models_are_downloaded_and_never_download() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    models = services["models"]
    assert models["command"][0] == "download-models" and "--depth" in models["command"]
    assert models["restart"] == "no"
    assert "deploy" not in models, "downloading needs no GPU"
    volumes = {volume.split(":")[1] for volume in models["volumes"]}
    assert "/models" in volumes
    workers = [service for name, service in services.items() if name.startswith("worker-")]
    assert workers
    for worker in workers:
        condition = worker["depends_on"]["models"]["condition"]
        assert condition == "service_completed_successfully"
        assert worker["environment"]["HF_HUB_OFFLINE"] == "1"
        assert worker["volumes"] == models["volumes"], "they load from the volume it fills"
    assert "HF_HUB_OFFLINE" not in models["environment"]


def test_env_example_names_known_settings() -> None:
    from dataclasses import fields

    from bot.app.settings import Settings

    known = {f"KBOT_{field.name.upper()}" for field in fields(Settings)}
    names = [
        line.split("=", 1)[0].lstrip("# ")
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.startswith("KBOT_")
    ]
    assert names and set(names) <= known


def _stages() -> list[list[str]]:
    """The Dockerfile's build stages, each a list of instructions (continuations joined)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_the_image_runs_the_tested_python_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)-slim", text, re.M)
    assert base is not None
    assert (int(base[1]), int(base[2])) == sys.version_info[:2]
    final = _stages()[-1]
    assert "USER 1000:1000" in final
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in final)
    assert "COPY --chown=kbot:kbot benchmarks /app/benchmarks" in final
    assert "WORKDIR /data" in final


def test_compilers_stay_in_the_build_stage() -> None:
    build, final = _stages()
    assert any("build-essential" in line for line in build)
    assert not any("build-essential" in line or "apt-get" in line for line in final)
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    """The check above is real: an unpinned apt-get install in a copy is reported."""
    copy = tmp_path / "Dockerfile"
    copy.write_text("FROM debian:12\nRUN apt-get install curl\n", encoding="utf-8")
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", str(copy)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3008" in done.stdout


def test_metrics_are_published_on_the_loopback_only() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    metrics = [port for port in services["frontend"]["ports"] if port.endswith(":9090")]
    assert metrics == ["127.0.0.1:9090:9090"]


def _compose_command() -> list[str]:
    """`docker compose` where Docker's Compose plugin is installed."""
    if shutil.which("docker"):
        found = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if found.returncode == 0:
            return ["docker", "compose"]
    pytest.skip("Docker Compose is not installed; compose.yaml is checked against the spec above")


def _config(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KBOT_")}
    return subprocess.run(
        [*_compose_command(), *args, "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )


def test_docker_compose_config_validates() -> None:
    done = _config()
    assert done.returncode == 0, done.stderr
    with_example = _config("--env-file", ".env.example")
    assert with_example.returncode == 0, with_example.stderr


def test_docker_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key in a copy of compose.yaml is refused."""
    copy = tmp_path / "compose.yaml"
    copy.write_text(_misspelt(), encoding="utf-8")
    done = _config("-f", str(copy))
    assert done.returncode != 0
    assert "restrat" in done.stderr


def _install_commands(build: list[str]) -> list[list[str]]:
    """The build stage's `pip install` commands, as argument lists."""
    commands = []
    for line in build:
        if line.startswith("RUN "):
            for part in line.removeprefix("RUN ").split("&&"):
                words = shlex.split(part)
                if words[:2] == ["pip", "install"]:
                    commands.append(words)
    return commands


def test_the_image_environment_builds_in_a_virtualenv(tmp_path: Path) -> None:
    """The build stage's copies and installs, replayed with this Python into a virtualenv."""
    build = _stages()[0]
    source = tmp_path / "src"
    source.mkdir()
    for line in build:
        if line.startswith("COPY ") and "--from" not in line:
            *names, target = line.split()[1:]
            for name in names:
                copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
                copy(ROOT / name, source / target if target != "./" else source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    commands = _install_commands(build)
    assert [words[-1] for words in commands] == ["torch==2.13.0", "./[postgres]"]
    for words in commands:
        pip = [str(venv / "bin" / "pip"), *words[1:], "--quiet"]
        done = subprocess.run(pip, cwd=source, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    probe = "import sys, torch, diffusers, asyncpg, procrastinate, bot.app.cli; print(sys.version)"
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert (
        "/src/"
        not in subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": ""},
        ).stdout
    ), "the project is installed into the virtualenv, not linked to its source"
