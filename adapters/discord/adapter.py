"""The Discord adapter: the parts put together, and their lifecycle.

`DiscordAdapter.run` owns one discord.py client (no `client.run`): it logs in, syncs the
slash commands once in `setup_hook`, serves until cancelled, makes the waiting progress
edits and closes cleanly. `sync_commands` does the same sync on demand for
`kandinsky-bot discord-sync`. Mentions are off by default (prompts may contain
`@everyone`); only the channel fallback mentions its user. The token is never logged.
"""

from __future__ import annotations

import aiohttp
import discord

from adapters.discord.client import Client, make_client
from adapters.discord.commands import build_commands
from adapters.discord.config import DiscordConfig
from adapters.discord.delivery import Delivery
from adapters.discord.inbound import PLATFORM, Inbound
from bot.chat.adapter import Handle
from bot.chat.command import Button, Command


async def _ignore(command: Command) -> None:
    """A handle for a client that only syncs commands."""


class DiscordAdapter(Delivery):
    """Serves the bot on Discord through slash commands, buttons and a context menu.

    Its `Replier` side (texts, progress, results) is `Delivery`'s.
    """

    platform = PLATFORM

    def __init__(
        self,
        handle: Handle,
        config: DiscordConfig,
        *,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        self.handle = handle
        self.config = config
        self._connector = connector
        self._client: Client | None = None
        super().__init__(lambda: self._client, config.edit_interval, config.upload_limit)
        self.inbound = Inbound(config, handle, self.live)

    @property
    def client(self) -> discord.Client | None:
        """The connected client, while `run` runs."""
        return self._client

    def make_client(self, *, strict_sync: bool = False) -> Client:
        """A fresh client with this adapter's commands (auto-sharded when so configured)."""
        commands = build_commands(self.config, self.inbound)
        return make_client(self.config, commands, self, self._connector, strict_sync=strict_sync)

    async def run(self) -> None:
        """Log in, sync commands once, serve until cancelled; close the connection cleanly."""
        client = self.make_client()
        self._client = client
        try:
            async with client:
                try:
                    await client.start(self.config.token)
                finally:
                    await self.progress.settle()
        finally:
            self._client = None

    async def sync(self) -> list[str]:
        """Log in, register the slash commands, log out; return what was registered."""
        client = self.make_client(strict_sync=True)
        async with client:
            await client.login(self.config.token)
        return client.synced

    async def press(self, interaction: discord.Interaction, button: Button) -> None:
        """A result button was pressed."""
        await self.inbound.press(interaction, button)

    async def modal_submitted(self, interaction: discord.Interaction) -> None:
        """A modal came back (the Edit question's)."""
        await self.inbound.modal_submitted(interaction)


async def sync_commands(
    config: DiscordConfig, *, connector: aiohttp.BaseConnector | None = None
) -> list[str]:
    """Log in, sync the slash commands to the configured guilds (or globally), log out."""
    return await DiscordAdapter(_ignore, config, connector=connector).sync()
