"""The user's jobs in the queue: /queue and /cancel."""

from __future__ import annotations

from bot.chat.labels import stored_id
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
    """Cancel one of the user's jobs: a waiting one at once, a running one at its next step.

    With no id, the newest waiting job (else the running one). Someone else's job gets the
    same answer as one that does not exist.
    """
    words = ctx.command.text.split()
    if words:
        job_id = stored_id(words[0])
        job = await ctx.store.get_job(job_id) if job_id is not None else None
        if job is None or not ctx.owns(job.user_id):
            await ctx.reply("not_found_job", id=words[0].removeprefix("#")[:24])
            return
    else:
        mine = await ctx.store.jobs(ACTIVE, ctx.user.id)
        waiting = [job for job in mine if job.status is JobStatus.QUEUED]
        if not mine:
            await ctx.reply("cancel_none")
            return
        job = (waiting or mine)[-1]
    if job.status not in ACTIVE or not await ctx.services.queue.cancel(job.id):
        await ctx.reply("cancel_too_late", job=job.id)
    elif job.status is JobStatus.RUNNING:
        await ctx.reply("cancel_running", job=job.id)
    else:
        await ctx.reply("cancelled", job=job.id)


def router() -> Router:
    """The commands about waiting jobs."""
    return Router(
        Route("queue", queue, aliases=("q",)),
        Route("cancel", cancel, aliases=("stop",)),
    )
