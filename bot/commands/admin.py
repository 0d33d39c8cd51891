"""Admin commands (`/admin SUB ...`), for the accounts listed in KBOT_ADMINS.

Every outcome is audited: a refused attempt (by the shared admin check), a done action and a
failed one (with its reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.chat.labels import MAX_ID, stored_id
from bot.commands import moderation
from bot.commands.context import Context
from bot.commands.router import Route, Router
from bot.control.port import Report
from bot.i18n.catalogue import describe_error
from generation.request import RequestError
from storage.records import ACTIVE, UserRecord
from storage.store import StoreError

AdminHandler = Callable[[Context, list[str]], Awaitable[str]]


async def admin(ctx: Context) -> None:
    """Run an admin command (the shared checks let only admins through)."""
    words = ctx.command.text.split()
    action = words[0].lower() if words else ""
    # The prompt filter's words are kept out of the audit log (as out of every reply).
    target = " ".join(words[1:2] if action == "filter" else words[1:])
    handler = SUBCOMMANDS.get(action)
    try:
        if handler is None:
            raise RequestError("admin", action, ctx.t("admin_usage"))
        answer = await handler(ctx, words[1:])
    except RequestError as error:
        failure = f"failed: {describe_error(error, 'en')}"
        await ctx.store.audit(ctx.command.actor, action or "admin", target, failure, True)
        raise
    await ctx.store.audit(ctx.command.actor, action, target, "", True)
    await ctx.reply_text(answer)


async def find_user(ctx: Context, ref: str) -> UserRecord:
    """A user named as `platform:id` or `#number`."""
    user: UserRecord | None = None
    if ref.startswith("#") and ref[1:].isdigit():
        try:
            user = await ctx.store.get_user(int(ref[1:]))
        except StoreError:
            user = None
    elif ":" in ref:
        platform, _, platform_id = ref.partition(":")
        user = await ctx.store.find_user(platform, platform_id)
    if user is None:
        raise RequestError("user", ref, ctx.t("admin_no_user", user=ref))
    return user


def _need(args: list[str], count: int, ctx: Context) -> None:
    if len(args) < count:
        raise RequestError("admin", " ".join(args), ctx.t("admin_usage"))


def _number(word: str, ctx: Context) -> int:
    """A whole number a stored count can hold, either way (the usage sentence otherwise)."""
    digits = word.removeprefix("-")
    significant = digits.lstrip("0")
    if not (digits.isascii() and digits.isdigit()) or len(significant) > len(str(MAX_ID)):
        raise RequestError("admin", word, ctx.t("admin_usage"))
    number = int(significant or "0")
    if number > MAX_ID:
        raise RequestError("admin", word, ctx.t("admin_usage"))
    return -number if word.startswith("-") else number


async def ban(ctx: Context, args: list[str]) -> str:
    """Ban a user, with a reason."""
    _need(args, 1, ctx)
    user = await find_user(ctx, args[0])
    reason = " ".join(args[1:]) or "-"
    await ctx.store.set_ban(user.id, True, reason)
    return ctx.t("admin_banned", user=user.id, reason=reason)


async def unban(ctx: Context, args: list[str]) -> str:
    """Lift a ban."""
    _need(args, 1, ctx)
    user = await find_user(ctx, args[0])
    await ctx.store.set_ban(user.id, False, None)
    return ctx.t("admin_unbanned", user=user.id)


async def quota(ctx: Context, args: list[str]) -> str:
    """`quota set|grant USER N` or `quota reset USER`."""
    _need(args, 2, ctx)
    how, user = args[0].lower(), await find_user(ctx, args[1])
    if how == "reset":
        record = await ctx.store.reset_quota(user.id)
    elif how in ("set", "grant"):
        _need(args, 3, ctx)
        amount = _number(args[2], ctx)
        if how == "set":
            record = await ctx.store.set_daily_limit(user.id, max(amount, 0))
        else:
            record = await ctx.store.grant_credits(user.id, amount)
    else:
        raise RequestError("admin", how, ctx.t("admin_usage"))
    return ctx.t(
        "admin_quota",
        user=user.id,
        used=record.used_today,
        limit=record.daily_limit,
        extra=record.extra_credits,
    )


def _pair(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{low:.1f} s / {high:.1f} s"


async def stats(ctx: Context, args: list[str]) -> str:
    """Users, jobs by status, images today, wait and run percentiles."""
    figures = await ctx.store.stats()
    jobs = ", ".join(
        f"{status} {count}" for status, count in sorted(figures.jobs_by_status.items())
    )
    return ctx.t(
        "admin_stats",
        users=figures.users,
        jobs=jobs or "0",
        images=figures.images_today,
        wait=_pair(figures.wait_p50, figures.wait_p95),
        run=_pair(figures.run_p50, figures.run_p95),
    )


async def queue(ctx: Context, args: list[str]) -> str:
    """Every waiting and running job."""
    jobs = await ctx.store.jobs(ACTIVE)
    if not jobs:
        return ctx.t("admin_queue_empty")
    return "\n".join(
        ctx.t(
            "admin_queue_line",
            job=job.id,
            status=job.status,
            user=job.user_id,
            prompt=(job.request.prompt or "mix")[:40],
        )
        for job in jobs
    )


async def cancel(ctx: Context, args: list[str]) -> str:
    """Cancel any job, waiting or running."""
    _need(args, 1, ctx)
    word = args[0].removeprefix("#")
    if not (word.isascii() and word.isdigit()):
        raise RequestError("admin", word, ctx.t("admin_usage"))
    job_id = stored_id(word)
    job = await ctx.store.get_job(job_id) if job_id is not None else None
    if job_id is None or job is None or job.status not in ACTIVE:
        raise RequestError("job", word[:24], ctx.t("not_found_job", id=word[:24]))
    await ctx.services.queue.cancel(job_id)
    return ctx.t("admin_cancelled", job=job_id)


async def pause(ctx: Context, args: list[str]) -> str:
    """Stop taking new jobs, with a message for users."""
    message = " ".join(args) or ctx.t("pause_default")
    await ctx.store.set_pause(message)
    return ctx.t("admin_paused", message=message)


async def resume(ctx: Context, args: list[str]) -> str:
    """Take new jobs again."""
    await ctx.store.set_pause(None)
    return ctx.t("admin_resumed")


def _family(ctx: Context, word: str) -> str:
    spec = ctx.config.registry.lookup(word)
    if spec is None:
        choices = ctx.config.registry.spoken()
        raise RequestError.of(
            "model", word, "one_of", name="model", choices=choices, value=repr(word)
        )
    return spec.name


def _names(names: tuple[str, ...], ctx: Context) -> str:
    return ", ".join(names) or ctx.t("admin_nothing")


def _silent(report: Report, ctx: Context) -> list[str]:
    return [ctx.t("admin_silent", workers=", ".join(report.silent))] if report.silent else []


async def models(ctx: Context, args: list[str]) -> str:
    """What each process that generates serves and holds, and the families available."""
    holdings = await ctx.services.engine.holdings()
    lines = [
        ctx.t(
            "admin_models_worker",
            worker=holding.worker,
            device=holding.device,
            families=", ".join(holding.families),
            loaded=_names(holding.loaded, ctx),
        )
        for holding in holdings
    ] or [ctx.t("admin_models_none")]
    available = ", ".join(str(family) for family in ctx.config.families)
    return "\n".join([*lines, ctx.t("admin_models", available=available)])


async def preload(ctx: Context, args: list[str]) -> str:
    """Load a family before anyone asks for it, on every process that serves it."""
    _need(args, 1, ctx)
    family = _family(ctx, args[0])
    report = await ctx.services.engine.preload(family)
    if not report.outcomes and not report.silent:
        return ctx.t("admin_no_worker_for", model=family)
    lines = [
        ctx.t(
            "admin_preloaded",
            worker=outcome.worker,
            model=family,
            loaded=_names(outcome.loaded, ctx),
        )
        if outcome.ok
        else ctx.t("admin_preload_failed", worker=outcome.worker, model=family, error=outcome.error)
        for outcome in report.outcomes
    ]
    return "\n".join(lines + _silent(report, ctx))


async def unload(ctx: Context, args: list[str]) -> str:
    """Free a family's pipelines (all when none is named) on every process."""
    family = _family(ctx, args[0]) if args else None
    report = await ctx.services.engine.unload(family)
    if not report.outcomes and not report.silent:
        if family is None:
            return ctx.t("admin_models_none")
        return ctx.t("admin_no_worker_for", model=family)
    lines = [
        ctx.t(
            "admin_unloaded",
            worker=outcome.worker,
            count=outcome.dropped,
            loaded=_names(outcome.loaded, ctx),
        )
        if outcome.ok
        else ctx.t("admin_unload_failed", worker=outcome.worker, error=outcome.error)
        for outcome in report.outcomes
    ]
    return "\n".join(lines + _silent(report, ctx))


async def audit(ctx: Context, args: list[str]) -> str:
    """The latest audit entries."""
    limit = _number(args[0], ctx) if args else 20
    entries = await ctx.store.audit_log(max(1, min(limit, 100)))
    if not entries:
        return ctx.t("admin_audit_empty")
    return "\n".join(
        ctx.t(
            "admin_audit_line",
            at=entry.at.strftime("%Y-%m-%d %H:%M"),
            actor=entry.actor,
            what=" ".join(part for part in (entry.action, entry.target, entry.detail) if part),
            allowed=ctx.t("admin_allowed" if entry.allowed else "admin_refused"),
        )
        for entry in entries
    )


SUBCOMMANDS: dict[str, AdminHandler] = {
    "ban": ban,
    "unban": unban,
    "quota": quota,
    "stats": stats,
    "queue": queue,
    "cancel": cancel,
    "pause": pause,
    "resume": resume,
    "models": models,
    "preload": preload,
    "unload": unload,
    "audit": audit,
    "filter": moderation.filter_words,
    "policy": moderation.policy,
    "flagged": moderation.flagged,
}


def router() -> Router:
    """The /admin command."""
    return Router(Route("admin", admin, admin_only=True))
