"""The bot's answers on Discord: texts, progress and results, through the interaction.

The first answer to an interaction is its response, or replaces its "thinking" message
(`opening`); later answers are follow-ups (ephemeral when the command is private). Once the
15-minute interaction token has expired, or Discord refuses it with 401/404, answers go to
the channel as ordinary messages mentioning the user; private answers are never made public
that way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp
import discord
from discord import app_commands

from adapters.discord.client import Client, log_http_failure
from adapters.discord.edits import ProgressEdits
from adapters.discord.opening import first_answer
from adapters.discord.present import Outgoing, fit_all, result
from adapters.discord.target import TOKEN_LIFETIME, Target
from bot.chat.command import Button, Destination, OutImage
from bot.chat.replier import ProgressRef
from bot.i18n.catalogue import normalise_language, text

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Live:
    """An interaction of this process, with whether its "thinking" message was replaced."""

    interaction: discord.Interaction
    answered: bool = False


class LiveInteractions:
    """The interactions this process acknowledged, kept for their token's lifetime."""

    def __init__(self) -> None:
        self._live: dict[str, _Live] = {}

    def remember(self, interaction: discord.Interaction) -> None:
        """Keep the interaction: its first answer replaces "thinking"."""
        now = time.time()
        for token, live in list(self._live.items()):
            if now - live.interaction.created_at.timestamp() > TOKEN_LIFETIME:
                del self._live[token]
        self._live[interaction.token] = _Live(interaction)

    def get(self, token: str) -> _Live | None:
        """The live interaction with this token, if this process has it."""
        return self._live.get(token)


def describe(interaction: discord.Interaction) -> str:
    """The command or component an interaction came from, for a log line."""
    command = interaction.command
    if command is not None:
        return f"/{command.qualified_name}"
    return f"component {interaction.data.get('custom_id') if interaction.data else '?'}"


class Delivery:
    """Sends texts, progress and results (the adapter's `Replier` side)."""

    def __init__(self, client: Callable[[], Client | None], edit_interval: float) -> None:
        """`client`: the connected client, if any, when asked."""
        self._connected = client
        self.live = LiveInteractions()
        self.progress = ProgressEdits(edit_interval, client)

    async def send_text(self, destination: Destination, text: str) -> None:
        """Answer: replace "thinking", else a follow-up, else (token expired) the channel."""
        await self._deliver(Target.of(destination), Outgoing(text))

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the progress message (like any answer) or edit it, throttled per message."""
        if ref and ref.get("message_id"):
            self.progress.show(ref, text)
            return ref
        target = Target.of(destination)
        sent = await self._deliver(target, Outgoing(text))
        if sent is None:
            return {}
        new_ref = target.ref(*sent)
        self.progress.created(new_ref, text)
        return new_ref

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
    ) -> None:
        """Send the pictures with an embed holding the caption, and persistent buttons."""
        target = Target.of(destination)
        language = destination.extra.get("language")
        pictures, notices = await asyncio.to_thread(fit_all, images, target.upload_limit, language)
        await self._deliver(target, result(caption, pictures, notices, buttons))

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log a failed interaction once and tell its user politely, only to them."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        where = f"{describe(interaction)} from discord:{interaction.user.id}"
        if isinstance(cause, app_commands.AppCommandError):
            log.warning("%s was refused: %s", where, cause)
        else:
            log.error("%s failed", where, exc_info=cause)
        message = text(normalise_language(str(interaction.locale)), "error")
        live = self.live.get(interaction.token)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(message, ephemeral=True)
                return
            if live is not None and not live.answered:  # no "thinking" left behind
                live.answered = True
                await interaction.delete_original_response()
            await interaction.followup.send(message, ephemeral=True)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as failure:
            log_http_failure("tell the user about it", failure)

    async def _deliver(self, target: Target, outgoing: Outgoing) -> tuple[int, str] | None:
        """Send through the interaction while its token lives, else in the channel.

        Returns the message id and the way it went ("webhook" or "channel"), or None when
        it could not be delivered (logged).
        """
        client = self._connected()
        if client is None or client.is_closed():
            log.warning("not connected to Discord; an answer to discord:%s is lost", target.user_id)
            return None
        try:
            if not target.expired():
                try:
                    answer = await self._answer(client, target, outgoing)
                    return answer.id, "webhook"
                except discord.HTTPException as error:
                    if error.status not in (401, 404):
                        raise
                    log.info(
                        "interaction token refused (HTTP %s); answering in the channel",
                        error.status,
                    )
            message = await self._post_in_channel(client, target, outgoing)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            log_http_failure(f"answer discord:{target.user_id}", error)
            return None
        return None if message is None else (message.id, "channel")

    async def _answer(self, client: Client, target: Target, outgoing: Outgoing) -> discord.Message:
        live = self.live.get(target.token)
        if live is not None and not live.answered:
            live.answered = True
            return await first_answer(live.interaction, outgoing, ephemeral=target.private)
        if live is not None:
            followup = live.interaction.followup
            parts = outgoing.parts()
            return await followup.send(**parts, ephemeral=target.private, wait=True)
        webhook = discord.Webhook.partial(target.application_id, target.token, client=client)
        return await webhook.send(**outgoing.parts(), wait=True)

    async def _post_in_channel(
        self, client: Client, target: Target, outgoing: Outgoing
    ) -> discord.Message | None:
        """An ordinary channel message mentioning the user (never for private answers)."""
        if target.private or not target.channel_id:
            log.warning("an answer to discord:%s came too late to deliver", target.user_id)
            return None
        channel = client.get_partial_messageable(target.channel_id)
        mentioned = replace(outgoing, content=f"<@{target.user_id}> {outgoing.content}".strip())
        users = discord.AllowedMentions(users=[discord.Object(id=target.user_id)])
        return await channel.send(**mentioned.parts(), allowed_mentions=users)
