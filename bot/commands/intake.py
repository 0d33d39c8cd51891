"""Intake: a request becomes a stored, queued job in one unit of work, or a polite refusal.

Validation, the pause, the queue caps, the quota and the job row are decided by the store in
one transaction (`Store.admit_job`), so any number of frontends agree and nothing is half
written. Only then is the queue handed the job and the owner told its place (the job does
not wait for that message; what it does next waits, `Notifier.queuing`).

A command handled a second time (its delivery was taken over after a crash) finds its job
stored already: it is neither told nor queued again (a restarted queue runs stored jobs).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from datetime import UTC, datetime

from bot.commands.context import Context
from bot.commands.moderation import check_prompt
from bot.jobs import spans
from bot.jobs.notify import human_seconds
from generation.families import Families
from generation.request import GenerationRequest
from storage.records import Admission

log = logging.getLogger(__name__)

VIDEO_COST_SECONDS = 5
"""A video costs `BotConfig.video_cost` credits for each this many seconds (or part)."""


def cost_of(request: GenerationRequest, video_cost: int, families: Families) -> int:
    """The credits a (resolved) request takes from its owner's quota: one a picture,
    `video_cost` for each 5 seconds of a video."""
    if families.get(request.model).video is None or request.seconds is None:
        return request.num_images
    return request.num_images * video_cost * math.ceil(request.seconds / VIDEO_COST_SECONDS)


async def submit(ctx: Context, request: GenerationRequest) -> None:
    """Validate, check the prompt (`bot.commands.moderation`), admit (pause, caps, quota,
    job row), queue, and say where the job stands."""
    services = ctx.services
    request = services.prepare(request)
    await check_prompt(ctx, request)  # before anything is taken or stored
    validated = spans.now()
    origin = ctx.command.destination
    # The adapters read the user's language here when they word a result themselves.
    destination = dataclasses.replace(origin, extra={**origin.extra, "language": ctx.language})
    config = services.config
    cost = cost_of(request, config.video_cost, config.registry)
    admission = await ctx.store.admit_job(
        ctx.user.id,
        request,
        destination.to_dict(),
        cost,
        queue_size=services.config.queue_size,
        user_queue=services.config.user_queue,
        source=ctx.command.source,
    )
    if admission.duplicate:
        earlier = admission.job
        assert earlier is not None, "a duplicate admission carries the earlier job"
        log.info("job #%s came from %s already; not queued again", earlier.id, ctx.command.source)
        return
    if admission.job is None:
        await _refuse(ctx, admission)
        return
    job = admission.job
    received = ctx.command.received_at
    spans.begin(job.id, validated if received is None else received, validated, spans.now())
    position, eta = services.queue.estimate(job)
    values = {"job": job.id, "position": position, "eta": human_seconds(eta, ctx.language)}
    video = config.registry.get(request.model).video is not None
    message = ctx.t("queued_video", cost=cost, **values) if video else ctx.t("queued", **values)
    with services.notifier.queuing(job.id):  # it may start meanwhile: its news waits
        await services.queue.submit(job)
        ref = await ctx.replier().send_progress(destination, message, None)
        services.notifier.remember(job.id, ref)
    await ctx.store.set_progress_ref(job.id, ref)


async def _refuse(ctx: Context, admission: Admission) -> None:
    values = admission.values
    if admission.refusal == "paused":
        await ctx.reply("paused", message=values.get("message") or ctx.t("pause_default"))
    elif admission.refusal == "queue_full":
        await ctx.reply("queue_full", size=ctx.config.queue_size)
    elif admission.refusal == "user_queue_full":
        await ctx.reply("user_queue_full", count=values["count"], limit=ctx.config.user_queue)
    else:
        quota = admission.quota
        assert quota is not None, "a quota refusal carries the quota"
        left = (quota.reset_at - datetime.now(UTC)).total_seconds()
        reset = human_seconds(left, ctx.language)
        await ctx.reply("quota_exhausted", limit=quota.daily_limit, reset=reset)
