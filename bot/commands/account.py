"""A user's own account: /settings, /quota, /language and /link."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.grammar import ParsedText, parse_command_text
from bot.commands.context import Context
from bot.commands.router import Route, Router
from bot.i18n.catalogue import CATALOGUE, normalise_language
from bot.jobs.notify import human_seconds
from generation.request import GenerationRequest, validate

LINK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing that reads as another character


async def settings(ctx: Context) -> None:
    """Show or change the user's defaults."""
    words = ctx.command.text.strip()
    if words.lower() == "reset":
        await ctx.store.update_settings(
            ctx.user.id,
            default_model=None,
            width=None,
            height=None,
            steps=None,
            negative_prompt=None,
        )
        await ctx.reply("settings_saved")
        return
    if words:
        changes = _settings_changes(ctx, parse_command_text(words))
        await ctx.store.update_settings(ctx.user.id, **changes)
        await ctx.reply("settings_saved")
    current = await ctx.store.get_settings(ctx.user.id)
    size = f"{current.width}x{current.height}" if current.width else ctx.t("default")
    await ctx.reply(
        "settings_show",
        model=current.default_model or ctx.config.default_model,
        size=size,
        steps=current.steps or ctx.t("default"),
        negative=current.negative_prompt or ctx.t("none"),
        language=ctx.language,
    )


def _settings_changes(ctx: Context, parsed: ParsedText) -> dict[str, Any]:
    """Check the new defaults the way a request would, then return them."""
    changes: dict[str, Any] = {}
    config = ctx.config
    probe = GenerationRequest(prompt="probe", model=parsed.model or config.default_model)
    if parsed.model:
        changes["default_model"] = parsed.model
    rule = config.registry.get(probe.model).size_rule
    asked = parsed.dimensions(config.default_size**2, config.limits, rule=rule)
    width, height = asked or rule.default_size(probe.width, probe.height)
    probe = probe.replace(width=width, height=height)
    if asked is not None:
        changes.update(width=width, height=height)
    if parsed.steps is not None:
        probe = probe.replace(steps=parsed.steps)
        changes["steps"] = parsed.steps
    if parsed.negative_prompt is not None:
        probe = probe.replace(negative_prompt=parsed.negative_prompt)
        changes["negative_prompt"] = parsed.negative_prompt or None
    validate(probe, config.limits, config.registry)
    return changes


async def quota(ctx: Context) -> None:
    """Show how many images are left today."""
    q = await ctx.store.quota(ctx.user.id)
    reset = human_seconds((q.reset_at - datetime.now(UTC)).total_seconds(), ctx.language)
    await ctx.reply(
        "quota_status",
        used=q.used_today,
        limit=q.daily_limit,
        extra=q.extra_credits,
        remaining=q.remaining,
        reset=reset,
    )


async def language(ctx: Context) -> None:
    """Choose the language the bot speaks with the user."""
    code = ctx.command.text.strip().lower()
    if code not in CATALOGUE:
        await ctx.reply("language_unknown")
        return
    await ctx.store.update_settings(ctx.user.id, language=code)
    ctx.language = normalise_language(code)
    await ctx.reply("language_set")


async def link(ctx: Context) -> None:
    """Join this account with one on another platform: one quota, history and settings."""
    code = ctx.command.text.strip().upper().replace(" ", "")
    if not code:
        code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(8))
        minutes = ctx.config.link_minutes
        expires = datetime.now(UTC) + timedelta(minutes=minutes)
        await ctx.store.create_link_code(ctx.user.id, code, expires)
        await ctx.reply("link_code", code=code, minutes=minutes)
        return
    command = ctx.command
    user = await ctx.store.redeem_link_code(
        code, command.platform, command.user_id, command.user_name
    )
    if user is None:
        await ctx.reply("link_bad")
        return
    await ctx.reply("link_done", user=user.id)


def router() -> Router:
    """The commands about the user's own account."""
    return Router(
        Route("settings", settings, aliases=("prefs",)),
        Route("quota", quota, aliases=("limits",)),
        Route("language", language, aliases=("lang",)),
        Route("link", link),
    )
