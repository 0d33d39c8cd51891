"""Delivery: every message to a user goes through the outbox, and is retried until it is out.

- `outbox`: `Outbox`, what the bot writes to: messages stored with a key that makes them
  idempotent (`job:12:result`), then sent at once (a command's answers, in order) or in the
  background (how a job ended); the drafts each kind of message is stored as.
- `sender`: `Sender`, the loop that delivers what is due through each platform's `Replier`:
  network errors, server errors and rate limits are tried again with backoff (honouring the
  platform's `retry_after`), a permanent refusal ends a message, pictures go as files when
  the picture route keeps failing, and a restart picks up whatever was not delivered.

May import storage, `bot.chat` and `bot.i18n`; not jobs, commands or app.
"""
