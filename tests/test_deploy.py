"""Deployment files: compose.yaml has the roles the scale-out needs (no docker CLI in CI)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, object]:
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


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


def test_env_example_names_known_settings() -> None:
    from dataclasses import fields

    from bot.settings import Settings

    known = {f"KBOT_{field.name.upper()}" for field in fields(Settings)}
    names = [
        line.split("=", 1)[0].lstrip("# ")
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.startswith("KBOT_")
    ]
    assert names and set(names) <= known


def test_dockerfile_has_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "HEALTHCHECK" in text and "/livez" in text and "USER kbot" in text


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_docker_compose_config_validates() -> None:
    version = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if version.returncode:
        pytest.skip("docker has no compose plugin")
    done = subprocess.run(
        ["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
