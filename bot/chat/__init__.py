"""The chat-level contract between the adapters and the bot, and what every platform shares.

- `command`: the command model every adapter builds, what the bot answers with, the
  result buttons' callback data (`Button.data`, `Button.parse`), and the mark of the question
  an Edit asks (`edit_question`, `asked_image`).
- `replier`, `adapter`: the interfaces adapters implement to speak and to run; `Handle`;
  how sending fails (`DeliveryError`: `TryLater` or `Refused`).
- `inbox`: where an adapter stores what a platform delivered before acknowledging it (the
  store implements it).
- `menu`: the commands as menus list them (`CommandInfo`; the router declares them).
- `grammar`: the option grammar every platform shares; `mix`: the mix syntax.
- `labels`: the numbers people see for jobs and pictures (`12`, `12.2`, `12.in`).
- `downloads`: what an adapter checks before it downloads a user's file.
- `throttle`: how often a message may be updated (the Notifier's steps, the adapters' edits).
- `present`: presentation every platform shares (the step bar, the sentence naming a result
  too large to upload).

Pure: imports only the standard library, the pure request model (`generation.request`,
`generation.families`, `generation.placement`, `generation.media`) and `bot.i18n`.
"""
