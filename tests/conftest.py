"""Shared fixtures: offline hub, no network, tiny models built once per run."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub: never reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# python-telegram-bot 22 warns about integer retry_after unless timedeltas are switched on.
os.environ["PTB_TIMEDELTA"] = "1"

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings

pytest_plugins = ["tests.postgres"]

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    """Refuse any connection that is not to this machine."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Every test runs with outbound connections refused."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoints and their registry file, built once per test run.

    Torch gets one thread: on a few shared cores, two made tiny calls many times slower.
    """
    import torch

    from generation.engine.tiny import build_tiny_models

    torch.set_num_threads(1)
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def tiny_settings(tiny_models: Path) -> Settings:
    """Settings that run everything offline on the CPU with the tiny models."""
    return Settings(models=tiny_models, device=("cpu",))


@pytest.fixture(scope="session")
def service(tiny_settings: Settings) -> Iterator[Any]:
    """One generation service (and pipeline cache) shared by the whole run."""
    from bot.app.root import build_generation

    service = build_generation(tiny_settings)
    yield service
    service.close()
