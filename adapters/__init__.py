"""Chat platform adapters: they turn platform events into the bot's commands and its answers
into platform messages.

`console` (a terminal), `telegram/` and `discord/` (packages, one module per concern). Each
may import its platform's library, `bot.chat`, `bot.i18n` and `generation.request`; none
imports another adapter, the composition root (`bot.app`), storage or the engine.
"""
