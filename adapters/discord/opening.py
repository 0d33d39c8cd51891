"""The first response to an interaction: the answer itself when it is ready in time, else a
deferral ("thinking") that the answer then replaces.

Discord wants a first response within 3 s. Most commands are answered well within that, after
their job is stored, so the answer is the interaction's response and the job row exists
before Discord hears anything. A command that takes longer (pictures to download, a busy
database) is deferred after `DiscordConfig.answer_within` seconds. A lock kept with the
interaction makes sure a deferral and a first answer never cross.
"""

from __future__ import annotations

import asyncio

import discord

from adapters.discord.present import Outgoing

_LOCK = "kandinsky-bot:opening"


def _lock(interaction: discord.Interaction) -> asyncio.Lock:
    lock = interaction.extras.get(_LOCK)
    if not isinstance(lock, asyncio.Lock):
        lock = interaction.extras[_LOCK] = asyncio.Lock()
    return lock


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Show "thinking" unless the interaction has had its response already."""
    async with _lock(interaction):
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)


async def first_answer(
    interaction: discord.Interaction, outgoing: Outgoing, *, ephemeral: bool
) -> discord.Message:
    """Send the first answer: as the response if none was sent, else in place of "thinking"."""
    async with _lock(interaction):
        if not interaction.response.is_done():
            sent = await interaction.response.send_message(**outgoing.parts(), ephemeral=ephemeral)
            if isinstance(sent.resource, discord.InteractionMessage):
                return sent.resource
            return await interaction.original_response()
    return await interaction.edit_original_response(**outgoing.parts(editing=True))
