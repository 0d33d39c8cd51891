"""Settings: read once at the root from `KBOT_*` environment variables and an optional `.env`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from generation.engine.quantize import QUANTIZE_MODES
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import MAX_IMAGES, Limits

PREFIX = "KBOT_"
SAFETY_MODES = ("off", "prompts", "images", "both")
"""What `KBOT_SAFETY` may say the content filter checks."""
DEFAULT_SAFETY_MODEL = "Falconsai/nsfw_image_detection"


class SettingsError(ValueError):
    """A setting with a value that cannot be used."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name.upper()} must be true or false, got {raw!r}")


def _optional_bool(name: str, raw: str) -> bool | None:
    return None if raw.strip().lower() in ("", "auto") else _bool(name, raw)


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name.upper()} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an operator can set; secrets come only from the environment."""

    models: Path | None = None
    device: tuple[str, ...] = ("auto",)
    fp16: bool | None = None
    cpu_offload: bool = False
    compile: bool = False
    xformers: bool | None = None
    quantize: str = "none"
    depth_model: str | None = None
    default_model: str = DEFAULT_FAMILIES.default
    default_size: int = 768
    default_steps: int | None = None  # None: each family's own
    max_side: int = 1536
    max_pixels: int = 1536 * 1536
    max_prompt_chars: int = 1000
    max_steps: int = 150
    max_upload_bytes: int = 20 * 1024 * 1024
    max_upload_pixels: int = 40_000_000
    data_dir: Path = Path("data")
    database_url: str | None = None
    admins: frozenset[str] = frozenset()
    daily_limit: int = 50
    video_cost: int = 5
    """Credits (of the daily limit) a video takes for each 5 seconds it runs."""
    queue_size: int = 100
    user_queue: int = 5
    max_batch: int = 8
    batch_window: float = 0.25
    progress_interval: float = 1.0
    link_minutes: int = 10
    telegram_token: str | None = field(default=None, repr=False)
    telegram_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_listen: str = "0.0.0.0:8443"
    telegram_private_prompts: bool = True
    telegram_upload_limit: int = 50 * 1024 * 1024
    """Bytes a bot may upload to Telegram in one file (the Bot API's 50 MB)."""
    discord_token: str | None = field(default=None, repr=False)
    discord_guilds: tuple[int, ...] = ()
    discord_shard_count: int | None = None
    discord_shard_ids: tuple[int, ...] = ()
    discord_upload_limit: int = 10 * 1024 * 1024
    """Bytes one Discord message may carry in files (10 MB unless the server is boosted)."""
    queue: str = "local"
    metrics_addr: str | None = None
    safety: str | None = None  # SAFETY_MODES; None: both when the classifier is here
    safety_model: str = DEFAULT_SAFETY_MODEL
    safety_threshold: float = 0.5

    def __post_init__(self) -> None:
        """Refuse settings that cannot work together."""
        if self.default_steps is not None and not 1 <= self.default_steps <= self.max_steps:
            raise SettingsError(
                f"{PREFIX}DEFAULT_STEPS must be between 1 and {PREFIX}MAX_STEPS "
                f"({self.max_steps}), got {self.default_steps}"
            )
        if not 0.0 < self.safety_threshold <= 1.0:
            raise SettingsError(
                f"{PREFIX}SAFETY_THRESHOLD must be above 0 and at most 1, "
                f"got {self.safety_threshold}"
            )
        if self.video_cost < 0:
            raise SettingsError(f"{PREFIX}VIDEO_COST must be 0 or more, got {self.video_cost}")
        for name in ("telegram_upload_limit", "discord_upload_limit"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}{name.upper()} must be a number of bytes above 0")
        if self.queue == "procrastinate" and not (self.database_url or "").startswith("postgresql"):
            raise SettingsError(
                f"{PREFIX}QUEUE=procrastinate (and every worker) needs a PostgreSQL "
                f"{PREFIX}DATABASE_URL (postgresql+asyncpg://...)"
            )

    @property
    def database(self) -> str:
        """The database URL: `KBOT_DATABASE_URL`, or SQLite under the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'kbot.db'}"

    @property
    def limits(self) -> Limits:
        """The request bounds these settings give."""
        return Limits(
            max_side=self.max_side,
            max_pixels=self.max_pixels,
            max_prompt_chars=self.max_prompt_chars,
            max_steps=self.max_steps,
            max_call_images=MAX_IMAGES * max(1, self.max_batch),
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Read settings from `environ` (default: the process environment) over `dotenv`."""
        values = dict(read_dotenv(dotenv)) if dotenv is not None else {}
        values.update(os.environ if environ is None else environ)
        known = {f.name for f in fields(cls)}
        raw = {
            key[len(PREFIX) :].lower(): value
            for key, value in values.items()
            if key.startswith(PREFIX) and key[len(PREFIX) :].lower() in known
        }
        converted: dict[str, Any] = {name: _convert(name, value) for name, value in raw.items()}
        return cls(**converted)


def _convert(name: str, raw: str) -> object:
    converters = {
        "models": lambda n, v: Path(v) if v else None,
        "device": lambda n, v: (
            tuple(part.strip() for part in v.split(",") if part.strip()) or ("auto",)
        ),
        "fp16": _optional_bool,
        "xformers": _optional_bool,
        "cpu_offload": _bool,
        "compile": _bool,
        "quantize": _quantize,
        "depth_model": lambda n, v: v or None,
        "default_model": _family,
        "default_steps": lambda n, v: _int(n, v) if v.strip() else None,
        "data_dir": lambda n, v: Path(v),
        "database_url": lambda n, v: v or None,
        "admins": _admins,
        "progress_interval": _float,
        "batch_window": _float,
        "telegram_token": lambda n, v: v or None,
        "telegram_base_url": lambda n, v: v.rstrip("/") or "https://api.telegram.org",
        "telegram_webhook_url": lambda n, v: v or None,
        "telegram_listen": lambda n, v: v,
        "telegram_private_prompts": _bool,
        "discord_token": lambda n, v: v or None,
        "discord_guilds": _ids,
        "discord_shard_count": lambda n, v: _int(n, v) if v.strip() else None,
        "discord_shard_ids": _ids,
        "queue": _queue,
        "metrics_addr": lambda n, v: v.strip() or None,
        "safety": _safety,
        "safety_model": lambda n, v: v.strip() or DEFAULT_SAFETY_MODEL,
        "safety_threshold": _float,
    }
    converter = converters.get(name, _int)
    return converter(name, raw)


def _quantize(name: str, raw: str) -> str:
    value = raw.strip().lower() or "none"
    if value not in QUANTIZE_MODES:
        raise SettingsError(
            f"{PREFIX}QUANTIZE must be one of {', '.join(QUANTIZE_MODES)}, got {raw!r}"
        )
    return value


def _safety(name: str, raw: str) -> str | None:
    value = raw.strip().lower()
    if value in ("", "auto"):
        return None
    if value not in SAFETY_MODES:
        raise SettingsError(f"{PREFIX}SAFETY must be one of {', '.join(SAFETY_MODES)}, got {raw!r}")
    return value


def _queue(name: str, raw: str) -> str:
    value = raw.strip().lower() or "local"
    if value not in ("local", "procrastinate"):
        raise SettingsError(f"{PREFIX}QUEUE must be local or procrastinate, got {raw!r}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name.upper()} must be a number, got {raw!r}") from None


def _ids(name: str, raw: str) -> tuple[int, ...]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise SettingsError(f"{PREFIX}{name.upper()} lists numeric ids, got {raw!r}")
    return tuple(int(part) for part in parts)


def _admins(name: str, raw: str) -> frozenset[str]:
    """`telegram:12345,discord:67890` (platform and user id)."""
    admins = set()
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        platform, sep, user_id = entry.partition(":")
        if not sep or not platform or not user_id:
            raise SettingsError(
                f"{PREFIX}ADMINS lists platform:user_id pairs, e.g. telegram:12345; got {entry!r}"
            )
        admins.add(f"{platform.strip().lower()}:{user_id.strip()}")
    return frozenset(admins)


def _family(name: str, raw: str) -> str:
    value = raw.strip()
    if value not in DEFAULT_FAMILIES:
        raise SettingsError(
            f"{PREFIX}DEFAULT_MODEL must be one of {DEFAULT_FAMILIES.spoken()}, got {raw!r}"
        )
    return value


def parse_families(models: Sequence[str], registry: Families = DEFAULT_FAMILIES) -> list[str]:
    """`--models 2.2,3` (repeatable) -> the family names; when empty, every family of `registry`
    that makes pictures (a video family, `5v`, only when named: its checkpoints are large and
    its jobs long)."""
    names = [part.strip() for entry in models for part in entry.split(",") if part.strip()]
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise SettingsError(f"--models lists some of {registry.spoken()}, got {', '.join(unknown)}")
    return names or [spec.name for spec in registry if spec.video is None]


def read_dotenv(path: Path) -> dict[str, str]:
    """Read `KEY=value` lines (comments and blank lines skipped, quotes stripped)."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values
