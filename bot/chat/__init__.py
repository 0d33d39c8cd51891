"""The chat-level contract between the adapters and the bot.

The command model every adapter builds (`command`), the interface adapters implement to speak
(`replier`, `adapter`), the option grammar every platform shares (`grammar`) and shared
presentation helpers. Pure: imports only `generation.request` and `bot.i18n`.
"""
