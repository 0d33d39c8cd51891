"""The Discord adapter (discord.py): slash commands, buttons and menus in, replies out.

What lives where:

- `adapter`: `DiscordAdapter`, the parts put together, its lifecycle (`run`), and
  `sync_commands` for `kandinsky-bot discord-sync`.
- `config`: `DiscordConfig`, built by the runner from the settings (limits, families and
  the command menu included).
- `client`: discord.py's client, the command tree, syncing, and the persistent result
  buttons (`ResultButton`, whose custom id is `bot.chat.command.Button.data`).
- `commands` and `admin`: the slash-command declarations, made from the bot's command menu
  with the operator's option bounds (`options`: bounds, autocomplete, command text).
- `inbound`: interactions -> `bot.chat.command.Command`, pictures checked before download
  (a refused picture becomes the command's `refusal`).
- `asking`: the modal an Edit asks its instruction with, and reading its answer back.
- `delivery`: answers through the interaction, follow-ups, the channel fallback.
- `failures`: what a failed Discord call means for a message (try later, or never).
- `edits`: progress edits paced per message (`bot.chat.throttle`).
- `present`: clipped texts, result embeds, pictures fitted to the upload limit.
- `target`: where an answer goes, read back from a destination or a progress ref.

May import: discord.py, aiohttp, Pillow (re-encoding), `bot.chat`, `bot.i18n`,
`generation.request` and `generation.families`; never another adapter, the composition root
(`bot.app`), storage or the engine.
"""
