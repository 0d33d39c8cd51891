"""What the Telegram adapter is configured with; the runner builds it from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram.constants import FileSizeLimit

from bot.chat.menu import CommandInfo


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """How fast the adapter talks, kept under Telegram's flood limits.

    A group may receive about 20 messages a minute; status edits take at most
    `group_edits_per_minute` of them so queue answers and results still get through.
    """

    private_edit_seconds: float = 1.0
    group_edit_seconds: float = 3.0
    group_edits_per_minute: int = 12
    private_action_seconds: float = 5.0
    group_action_seconds: float = 20.0
    messages_per_second: int = 30
    group_messages_per_minute: int = 20
    retries: int = 3


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """What the Telegram adapter needs; built from `bot.app.settings.Settings` by the runner."""

    token: str = field(repr=False)
    commands: tuple[CommandInfo, ...]
    """The bot's commands: the menu (`setMyCommands`), and which one a private prompt means."""
    base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    listen: str = "0.0.0.0:8443"
    private_prompts: bool = True
    max_download: int = FileSizeLimit.FILESIZE_DOWNLOAD
    album_seconds: float = 1.0
    poll_seconds: int = 10
    concurrent_updates: int = 256
    """Updates handled at once (each waits for its pictures, its job row and its answer)."""
    stop_seconds: float = 5.0
    """How long updates being handled may take to finish when the adapter stops; the rest
    are handled by the next start."""
    limits: FloodLimits = field(default_factory=FloodLimits)
    upload_limit: int = FileSizeLimit.FILESIZE_UPLOAD
    """Bytes one uploaded file may have (the Bot API's 50 MB; a local Bot API server takes
    more): a larger video is written again smaller."""
