"""The bot's answers on Discord: texts, progress and results, through the interaction.

The first answer to an interaction is its response, or replaces its "thinking" message
(`opening`); later answers are follow-ups (ephemeral when the command is private). Once the
15-minute interaction token has expired, or Discord refuses it with 401/404, answers go to
the channel as ordinary messages mentioning the user; private answers are never made public
that way. A failed call raises the bot's `DeliveryError` (`failures`), for the outbox to
retry or give up; a status message while a job works is best effort.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import discord
from discord import app_commands

from adapters.discord.client import Client, log_http_failure
from adapters.discord.edits import ProgressEdits
from adapters.discord.failures import FAILURES, delivery_error
from adapters.discord.opening import first_answer
from adapters.discord.present import Outgoing, fit_all, result
from adapters.discord.target import TOKEN_LIFETIME, Target
from bot.chat.command import Button, Destination, OutImage
from bot.chat.replier import DeliveryError, Parts, ProgressRef, Refused, TryLater
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

    def __init__(
        self, client: Callable[[], Client | None], edit_interval: float, upload_limit: int
    ) -> None:
        """`client`: the connected client, if any, when asked; `upload_limit`: the most bytes
        a result file may have, whatever an interaction allows."""
        self._connected = client
        self.upload_limit = upload_limit
        self.live = LiveInteractions()
        self.progress = ProgressEdits(edit_interval, client)

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        """Answer: replace "thinking", else a follow-up, else (token expired) the channel."""
        await self._deliver(Target.of(destination), Outgoing(text))

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        """Create the progress message (like any answer) or edit it, throttled per message.

        Best effort: a progress message that cannot be created is logged and has no ref.
        """
        if ref and ref.get("message_id"):
            self.progress.show(ref, text)
            return ref
        target = Target.of(destination)
        try:
            sent = await self._deliver(target, Outgoing(text))
        except DeliveryError as error:
            log.warning("%s", error.reason)
            return {}
        new_ref = target.ref(*sent)
        self.progress.created(new_ref, text)
        return new_ref

    async def end_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> None:
        """Edit the progress message to its last text (within the interval); without one, or
        when Discord refuses the edit, send the text as an answer."""
        if not (ref and ref.get("message_id")):
            await self._deliver(Target.of(destination), Outgoing(text))
            return
        try:
            await self.progress.finish(ref, text)
        except Refused as error:
            log.info("%s; sending the status as an answer", error.reason)
            await self._deliver(Target.of(destination), Outgoing(text))

    async def send_images(
        self,
        destination: Destination,
        images: list[OutImage],
        caption: str,
        buttons: list[Button],
        *,
        parts: Parts | None = None,
        as_files: bool = False,
    ) -> None:
        """Send the pictures (or videos) with an embed holding the caption, and persistent
        buttons (always as files: Discord has no separate picture route)."""
        target = Target.of(destination)
        language = destination.extra.get("language")
        limit = min(target.upload_limit, self.upload_limit)
        pictures, notices = await asyncio.to_thread(fit_all, images, limit, language)
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
        except FAILURES as failure:
            log_http_failure("tell the user about it", failure)

    async def _deliver(self, target: Target, outgoing: Outgoing) -> tuple[int, str]:
        """Send through the interaction while its token lives, else in the channel.

        Returns the message id and the way it went ("webhook" or "channel"); raises a
        `DeliveryError` when it could not be delivered.
        """
        client = self._connected()
        if client is None or client.is_closed():
            raise TryLater(f"not connected to Discord; an answer to discord:{target.user_id} waits")
        what = f"answer discord:{target.user_id}"
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
        except FAILURES as error:
            raise delivery_error(error, what) from error
        return message.id, "channel"

    async def _answer(self, client: Client, target: Target, outgoing: Outgoing) -> discord.Message:
        live = self.live.get(target.token)
        if live is not None and not live.answered:
            live.answered = True
            try:
                return await first_answer(live.interaction, outgoing, ephemeral=target.private)
            except BaseException:
                live.answered = False  # no answer took its place: the next try is the first
                raise
        if live is not None:
            followup = live.interaction.followup
            parts = outgoing.parts()
            return await followup.send(**parts, ephemeral=target.private, wait=True)
        webhook = discord.Webhook.partial(target.application_id, target.token, client=client)
        return await webhook.send(**outgoing.parts(), wait=True)

    async def _post_in_channel(
        self, client: Client, target: Target, outgoing: Outgoing
    ) -> discord.Message:
        """An ordinary channel message mentioning the user (never for private answers)."""
        if target.private or not target.channel_id:
            raise Refused(f"an answer to discord:{target.user_id} came too late to deliver")
        channel = client.get_partial_messageable(target.channel_id)
        mentioned = replace(outgoing, content=f"<@{target.user_id}> {outgoing.content}".strip())
        users = discord.AllowedMentions(users=[discord.Object(id=target.user_id)])
        return await channel.send(**mentioned.parts(), allowed_mentions=users)
