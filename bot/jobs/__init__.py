"""The life of a job: one lifecycle, the `JobQueue` port and its two backends.

The embedded queue (`local`) and the procrastinate queue with its worker processes
(`distributed`, `worker`) both follow the rules in `lifecycle`; `notify` tells owners what
happened. May import storage, generation and `bot.chat`/`bot.i18n`; not commands or app.
"""
