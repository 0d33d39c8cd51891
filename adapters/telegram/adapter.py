"""The Telegram adapter: the parts put together, and their lifecycle.

`TelegramAdapter.run` owns the python-telegram-bot `Application`'s lifecycle (no
`run_polling`), so it shares the event loop with the rest of the bot: make sure the token
works, start the application and the updates (long polling or a webhook, each update
stored in the inbox before Telegram is told it arrived: `updates`), publish the command
menu in each language, serve until cancelled, and stop everything in reverse order. The
token never reaches a log line.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram.ext import Application, ExtBot

from adapters.telegram.client import TelegramClient
from adapters.telegram.config import TelegramConfig
from adapters.telegram.delivery import Delivery
from adapters.telegram.inbound import PLATFORM, Inbound
from adapters.telegram.present import MENU_LANGUAGES, menu
from adapters.telegram.redact import TokenFilter
from adapters.telegram.updates import Updates
from bot.chat.adapter import Handle
from bot.chat.inbox import Inbox

log = logging.getLogger(__name__)


class TelegramAdapter(Delivery):
    """Turns Telegram updates into commands and the bot's answers into Telegram messages.

    Its `Replier` side (texts, progress, results) is `Delivery`'s.
    """

    platform = PLATFORM

    def __init__(self, handle: Handle, config: TelegramConfig, inbox: Inbox) -> None:
        self.handle = handle
        self.config = config
        self.inbox = inbox
        self.redactor = TokenFilter(config.token)
        self.redactor.install()
        super().__init__(TelegramClient(config), config.limits, config.upload_limit)
        self.updates = Updates(self.client, config, inbox)
        self.inbound = Inbound(
            self.client, config, handle, self.results, self.say, self.updates.arrived
        )
        self.client.route(self.inbound.on_message, self.inbound.on_button, self.inbound.on_error)

    @property
    def application(self) -> Application[ExtBot[Any], Any, Any, Any, Any, Any]:
        """python-telegram-bot's application."""
        return self.client.application

    async def run(self) -> None:
        """Connect (long polling, or a webhook when configured) and serve until cancelled."""
        client = self.client
        try:
            async with contextlib.AsyncExitStack() as stack:
                await client.ready(required=True)
                await stack.enter_async_context(client.application)
                stack.push_async_callback(self._stop_sending)
                await client.application.start()
                stack.push_async_callback(client.application.stop)
                stack.push_async_callback(self.updates.stop)
                await self.updates.start()
                await self._publish_menus()
                log.info("Telegram: serving as @%s", client.bot.username)
                await self.updates.serve()
        finally:
            client.stopped = True
            self.redactor.uninstall()

    async def _publish_menus(self) -> None:
        for language, code in MENU_LANGUAGES:
            await self.client.guarded(
                self.client.bot.set_my_commands(
                    menu(language, self.config.commands), language_code=code
                ),
                "set the command menu",
            )

    async def _stop_sending(self) -> None:
        await self.statuses.close()
        await self.client.stop_tasks()
