"""The bot's entry point: turns each `Command` into an answer, never raising.

Adapters call `Bot.handle`. It finds the route, builds the context and runs the shared
checks and the handler; errors become polite answers in the user's language and a log line.
"""

from __future__ import annotations

import dataclasses
import logging

from bot.chat.command import Command
from bot.commands.checks import CHECKS, Check, chain
from bot.commands.context import Context, Services
from bot.commands.router import Route, Router
from bot.delivery.outbox import text_draft
from bot.i18n.catalogue import describe_error, normalise_language, text
from bot.jobs import spans
from generation.request import RequestError
from storage.store import StoreError

log = logging.getLogger(__name__)


class Bot:
    """Everything a user or an admin can do, whatever the platform."""

    def __init__(
        self, services: Services, router: Router, checks: tuple[Check, ...] = CHECKS
    ) -> None:
        self.services = services
        self.router = router
        self.checks = checks

    async def handle(self, command: Command) -> None:
        """Handle one command; never raises (errors become polite answers and a log line).

        While it is handled the queue hears a job may be on its way, so requests that arrive
        together can run as one batch.
        """
        if command.received_at is None:
            command = dataclasses.replace(command, received_at=spans.now())
        with self.services.queue.expecting():
            await self._handle(command)

    async def _handle(self, command: Command) -> None:
        language = normalise_language(command.locale)
        context: Context | None = None
        try:
            user = await self.services.store.ensure_user(
                command.platform, command.user_id, command.user_name, None
            )
            context = Context(self.services, command, user, language)
            await self._dispatch(context)
        except RequestError as error:
            language = context.language if context else language
            await self._answer(
                command, context, language, "bad_input", error=describe_error(error, language)
            )
        except StoreError as error:
            log.warning("store refused %s: %s", command.name, error)
            await self._answer(command, context, language, "error")
        except Exception:
            log.exception("command /%s from %s failed", command.name, command.actor)
            await self._answer(command, context, language, "error")

    async def _dispatch(self, context: Context) -> None:
        word = context.command.name
        route = self.router.find(word) or Route(word, self._unknown, open_to_banned=True)
        await chain(self.checks, route)(context)

    async def _unknown(self, context: Context) -> None:
        word = context.command.name
        suggestion = self.router.suggest(word)
        if suggestion:
            await context.reply("unknown_command_suggest", command=word, suggestion=suggestion)
        else:
            await context.reply("unknown_command", command=word)

    async def _answer(
        self, command: Command, context: Context | None, language: str, key: str, **values: object
    ) -> None:
        try:
            if context is not None:
                await context.reply(key, **values)
                return
            message = text_draft(command.destination, text(language, key, **values))
            await self.services.outbox.send(message)
        except Exception:
            log.exception("could not answer %s", command.actor)
