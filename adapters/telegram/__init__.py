"""The Telegram adapter (python-telegram-bot): updates in, the bot's commands out, replies back.

What lives where:

- `adapter`: `TelegramAdapter`, the parts put together, and its lifecycle (`run`).
- `config`: `TelegramConfig` and `FloodLimits`, built by the runner from the settings.
- `client`: the Bot API connection (python-telegram-bot's `Application`, without its
  `Updater`), readiness, guarded calls, background tasks.
- `updates`: long polling or the webhook; every update stored in the inbox
  (`bot.chat.inbox`) before Telegram is told it arrived, then handled, and marked handled
  once its job is stored or its answer sent; what a crash left is handled at start.
- `inbound`: messages, albums and button presses -> `bot.chat.command.Command`, pictures
  downloaded within the cap (a refused file becomes the command's `refusal`).
- `delivery`: texts, status messages and results (photos, files, albums, keyboards).
- `failures`: what a failed Bot API call means for a message (try later, or never).
- `flood`: status edits and chat actions paced under Telegram's flood limits.
- `present`: how answers look (lengths in UTF-16, split texts, keyboards, the menu).
- `redact`: the filter that keeps the token out of every log line.

May import: python-telegram-bot, aiohttp (the webhook's server), `bot.chat`, `bot.i18n`
and `generation.request`; never
another adapter, the composition root (`bot.app`), storage or the engine.
"""
