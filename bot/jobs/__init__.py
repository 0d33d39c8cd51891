"""The life of a job: one lifecycle, the `JobQueue` port and its two backends.

`port` declares what the rest of the bot uses (`JobQueue`) and what a queue needs around it
(`JobEvents`, `Generator`); the composition root picks a backend. The embedded queue
(`local`) and the procrastinate queue with its worker processes (`distributed`, `worker`)
decide where and when a job runs; `lifecycle` decides what happens to it (moves, failure
reasons, retry and refund, telling the owner once, measuring its speed); `eta` predicts from
the measured speeds how long jobs run and wait; `notify` words it for users.
May import storage, generation, `bot.delivery` and `bot.chat`/`bot.i18n`; not commands or app.
"""
