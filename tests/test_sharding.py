"""Discord sharding: a shard count makes an AutoShardedClient on the configured shard ids."""

from __future__ import annotations

import discord

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.config import DiscordConfig
from bot.app.root import command_menu
from bot.app.settings import Settings
from bot.chat.command import Command


async def _ignore(command: Command) -> None:
    del command


async def test_no_shard_count_plain_client() -> None:
    client = DiscordAdapter(
        _ignore, DiscordConfig(token="t", commands=command_menu())
    ).make_client()
    assert not isinstance(client, discord.AutoShardedClient)
    await client.close()


async def test_shard_count_and_ids() -> None:
    config = DiscordConfig(token="t", commands=command_menu(), shard_count=4, shard_ids=(2, 3))
    client = DiscordAdapter(_ignore, config).make_client()
    assert isinstance(client, discord.AutoShardedClient)
    assert client.shard_count == 4 and client.shard_ids == [2, 3]
    # Not started, so nothing to close (close() needs the shard queue that start makes).


def test_settings_read_shards() -> None:
    settings = Settings.from_env(
        {"KBOT_DISCORD_SHARD_COUNT": "4", "KBOT_DISCORD_SHARD_IDS": "0,1"}, dotenv=None
    )
    assert settings.discord_shard_count == 4 and settings.discord_shard_ids == (0, 1)
    assert Settings.from_env({}, dotenv=None).discord_shard_count is None
