"""What the Discord adapter is configured with; the runner builds it from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.chat.menu import CommandInfo
from generation.families import DEFAULT_FAMILIES, Families
from generation.request import Limits


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    """What the Discord adapter needs from settings."""

    token: str = field(repr=False)
    commands: tuple[CommandInfo, ...]
    """The bot's commands: the slash commands synced, and the /help topics."""
    guilds: tuple[int, ...] = ()
    max_download: int = 20 * 2**20
    upload_limit: int = 10 * 2**20
    """Bytes the files of one message may have at most (Discord's 10 MB; a boosted server's
    larger limit is used only up to this)."""
    edit_interval: float = 1.0
    answer_within: float = 2.5
    """Seconds a command may take to reach its first answer (its job stored first) before
    the interaction is deferred instead; Discord wants a first response within 3 s."""
    shard_count: int | None = None  # set: an AutoShardedClient (many frontends, one token)
    shard_ids: tuple[int, ...] = ()  # the shards this process runs (empty: all of them)
    limits: Limits = field(default_factory=Limits)
    """The operator's bounds: option ranges, prompt length and the sizes suggested."""
    default_size: int = 768
    """The side of the square size suggested first."""
    families: tuple[str, ...] = ()
    """The model families users may choose (autocomplete, admin preload and unload)."""
    registry: Families = DEFAULT_FAMILIES
    """The family registry, with the sizes the checkpoints make: a family that makes only
    listed sizes (Kandinsky 5) has its list suggested once it is chosen."""
