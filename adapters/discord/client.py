"""The connection to Discord: discord.py's client with our command tree and persistent buttons.

One `Client` per `DiscordAdapter.run` (an auto-sharded one when a shard count is set): the
default intents without the privileged ones, no mentions unless asked, no message cache.
`setup_hook` registers the result buttons and syncs the commands once per login (copied to
each configured guild, which is instant, or globally). A result button's custom id is its
`bot.chat.command.Button.data` and all the state it needs, so it works after a restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol, Self

import aiohttp
import discord
from discord import app_commands

from adapters.discord.config import DiscordConfig
from bot.chat.command import Action, Button

log = logging.getLogger(__name__)

AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
MAX_ROWS, ROW_WIDTH = 5, 5  # Discord's rows of components under a message, buttons in a row


class Host(Protocol):
    """What the client hands on: failed interactions and pressed result buttons."""

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log a failed interaction and tell its user."""

    async def press(self, interaction: discord.Interaction, button: Button) -> None:
        """Run a pressed result button's action."""

    async def modal_submitted(self, interaction: discord.Interaction) -> None:
        """Take a submitted modal's answer (one this process sent, or another's)."""


def log_http_failure(what: str, error: Exception) -> None:
    """Log a failed call once: our own bad request is an error, the rest a warning."""
    status = getattr(error, "status", None)
    level = logging.ERROR if status == 400 else logging.WARNING
    log.log(level, "could not %s: %s", what, error)


class Client(discord.Client):
    """discord.py's client with our command tree and persistent buttons."""

    def __init__(
        self,
        config: DiscordConfig,
        commands: Sequence[AppCommand],
        host: Host,
        *,
        connector: aiohttp.BaseConnector | None,
        strict_sync: bool = False,
        **sharding: Any,
    ) -> None:
        super().__init__(
            intents=_intents(),
            connector=connector,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            **sharding,
        )
        self.config = config
        self.host = host
        self.strict_sync = strict_sync
        self.synced: list[str] = []
        self.tree = _Tree(self)
        for command in commands:
            self.tree.add_command(command)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every interaction passes here: submitted modals go to the host, whether this
        process sent them or not (discord.py itself only knows the modals it sent)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        try:
            await self.host.modal_submitted(interaction)
        except Exception as error:
            await self.host.report_error(interaction, error)

    async def setup_hook(self) -> None:
        """Register the buttons and sync the commands, once per login."""
        self.add_dynamic_items(ResultButton)
        try:
            self.synced = await sync_tree(self.tree, self.config.guilds)
        except discord.HTTPException as error:
            if self.strict_sync:
                raise
            log.error(
                "could not sync the slash commands (HTTP %s: %s); "
                "run `kandinsky-bot discord-sync` once that is fixed",
                error.status,
                error.text,
            )
            return
        for line in self.synced:
            log.info("%s", line)


class ShardedClient(Client, discord.AutoShardedClient):
    """Our client on several gateway shards (`KBOT_DISCORD_SHARD_COUNT` / `_SHARD_IDS`)."""


def make_client(
    config: DiscordConfig,
    commands: Sequence[AppCommand],
    host: Host,
    connector: aiohttp.BaseConnector | None = None,
    *,
    strict_sync: bool = False,
) -> Client:
    """One client, or an auto-sharded one when a shard count is configured.

    `strict_sync`: a client that only syncs the commands over REST (never sharded), and
    fails when Discord refuses them.
    """
    if strict_sync or config.shard_count is None:
        return Client(config, commands, host, connector=connector, strict_sync=strict_sync)
    return ShardedClient(
        config,
        commands,
        host,
        connector=connector,
        shard_count=config.shard_count,
        shard_ids=list(config.shard_ids) or None,
    )


class _Tree(app_commands.CommandTree[Client]):
    """The command tree; one handler logs failures and answers politely."""

    async def on_error(
        self, interaction: discord.Interaction[Client], error: app_commands.AppCommandError, /
    ) -> None:
        """Log once and tell the user."""
        await interaction.client.host.report_error(interaction, error)


def _intents() -> discord.Intents:
    """The default intents, without the privileged ones (members, presences, content)."""
    intents = discord.Intents.default()
    intents.members = intents.presences = intents.message_content = False
    return intents


async def sync_tree(tree: app_commands.CommandTree[Any], guilds: Sequence[int]) -> list[str]:
    """Copy the commands to each guild and sync there (instant), or sync globally."""
    if not guilds:
        synced = await tree.sync()
        names = ", ".join(sorted(command.name for command in synced))
        return [f"synced {len(synced)} global commands (may take up to an hour): {names}"]
    lines = []
    for guild_id in guilds:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        names = ", ".join(sorted(command.name for command in synced))
        lines.append(f"synced {len(synced)} commands to guild {guild_id}: {names}")
    return lines


class ResultButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=Button.PATTERN
):
    """A button under a result; its custom id (`Button.data`) is all its state."""

    def __init__(self, button: Button, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=button.label or str(button.action),
                style=discord.ButtonStyle.secondary,
                custom_id=button.data,
            ),
            row=row,
        )
        self.button = button

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from a pressed custom id."""
        parsed = Button.parse(match.string)
        if parsed is None:
            raise ValueError(f"not a result button: {match.string!r}")
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(Button(*parsed, label or ""))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Run the button's action on its image, as its presser."""
        client = interaction.client
        if not isinstance(client, Client):
            raise TypeError(f"interaction from an unexpected client {client!r}")
        try:
            await client.host.press(interaction, self.button)
        except Exception as error:
            await client.host.report_error(interaction, error)


def view(buttons: Sequence[Button]) -> discord.ui.View | None:
    """Persistent buttons: no timeout, and nothing stored but their custom ids; a row for
    each image they act on and one for the Report button, while Discord's five rows last."""
    if not buttons:
        return None
    result = discord.ui.View(timeout=None)
    own = [button for button in buttons if button.action is not Action.REPORT]
    images = list(dict.fromkeys(button.image_id for button in own))
    reports = len(own) < len(buttons)  # the result's Report button: a row of its own
    rows = len(images) + reports <= MAX_ROWS and all(
        sum(button.image_id == image for button in own) <= ROW_WIDTH for image in images
    )
    for button in buttons[: MAX_ROWS * ROW_WIDTH]:
        row = len(images) if button.action is Action.REPORT else images.index(button.image_id)
        result.add_item(ResultButton(button, row if rows else None))
    return result
