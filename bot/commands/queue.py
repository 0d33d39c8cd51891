"""The user's jobs in the queue: /queue and /cancel."""

from __future__ import annotations

from bot.commands.context import Context
from bot.commands.router import Route, Router
from bot.jobs.notify import human_seconds
from storage.records import ACTIVE, JobStatus


async def queue(ctx: Context) -> None:
    """Show where the user's jobs are."""
    jobs = await ctx.store.jobs(ACTIVE, ctx.user.id)
    if not jobs:
        await ctx.reply("queue_empty")
        return
    lines = []
    waiting = ctx.services.queue
    for job in jobs:
        if job.status is JobStatus.RUNNING:
            lines.append(ctx.t("queue_status_running", job=job.id))
            continue
        position = waiting.position(job.id) or "?"
        eta = human_seconds(waiting.eta(job.id), ctx.language)
        lines.append(ctx.t("queue_status_line", job=job.id, position=position, eta=eta))
    await ctx.reply_text("\n".join(lines))


async def cancel(ctx: Context) -> None:
    """Cancel one of the user's waiting jobs (the newest when no id is given)."""
    word = ctx.command.text.strip().lstrip("#")
    if word.isdigit():
        job = await ctx.store.get_job(int(word))
        if job is None or job.user_id != ctx.user.id:
            await ctx.reply("cancel_not_yours" if job else "not_found_job", job=word, id=word)
            return
    else:
        waiting = await ctx.store.jobs((JobStatus.QUEUED,), ctx.user.id)
        if not waiting:
            await ctx.reply("cancel_none")
            return
        job = waiting[-1]
    if job.status is not JobStatus.QUEUED:
        await ctx.reply("cancel_too_late", job=job.id)
        return
    if await ctx.services.queue.cancel(job.id):
        await ctx.reply("cancelled", job=job.id)
    else:
        await ctx.reply("cancel_too_late", job=job.id)


def router() -> Router:
    """The commands about waiting jobs."""
    return Router(
        Route("queue", queue, aliases=("q",)),
        Route("cancel", cancel, aliases=("stop",)),
    )
