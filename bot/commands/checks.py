"""The checks every command goes through, as middleware around its handler.

Each check gets the context, the route and the rest of the chain; it answers and stops, or
calls on. The dispatcher runs them in the order of `CHECKS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from bot.chat.command import Attachment
from bot.chat.grammar import parse_command_text
from bot.commands.context import Context
from bot.commands.pictures import find_picture, shown
from bot.commands.router import Route
from bot.delivery.sender import IMAGES
from bot.i18n.catalogue import normalise_language

Next = Callable[[Context], Awaitable[None]]
Check = Callable[[Context, Route, Next], Awaitable[None]]


async def speak_their_language(ctx: Context, route: Route, call_next: Next) -> None:
    """Answer in the language the user chose with /language, else their platform's."""
    chosen = (await ctx.settings()).language
    ctx.language = normalise_language(chosen or ctx.user.language or ctx.command.locale)
    await call_next(ctx)


async def tell_undelivered(ctx: Context, route: Route, call_next: Next) -> None:
    """Results the platform refused for good (the user had blocked the bot, say) wait in
    /history; the user hears how many, once, when they next write."""
    missed = await ctx.store.take_undelivered(ctx.user.id, IMAGES)
    if missed:
        await ctx.reply("undelivered_results", count=missed)
    await call_next(ctx)


async def answer_refusals(ctx: Context, route: Route, call_next: Next) -> None:
    """What an adapter could not take (a file too big, not a picture) is refused, in the
    user's language, and nothing else happens."""
    if ctx.command.refusal is not None:
        raise ctx.command.refusal
    await call_next(ctx)


async def refuse_banned(ctx: Context, route: Route, call_next: Next) -> None:
    """A banned user gets the reason, and only /help."""
    if ctx.user.banned and not route.open_to_banned:
        await ctx.reply("banned", reason=ctx.user.ban_reason or "-")
        return
    await call_next(ctx)


async def admins_only(ctx: Context, route: Route, call_next: Next) -> None:
    """Admin commands are refused, and the attempt audited, for everyone else."""
    if route.admin_only and not ctx.is_admin:
        words = ctx.command.text.split()
        action = words[0].lower() if words else route.name
        await ctx.store.audit(ctx.command.actor, action, " ".join(words[1:]), "", False)
        await ctx.reply("not_admin")
        return
    await call_next(ctx)


async def take_pictures(ctx: Context, route: Route, call_next: Next) -> None:
    """Put the pictures `--from` names first among a picture-taking command's own, as if
    they had been attached; one the caller may not use is answered as unknown."""
    if route.pictures:
        found: list[Attachment] = []
        for word in parse_command_text(ctx.command.text).pictures or ():
            data = await find_picture(ctx, word)
            if data is None:
                await ctx.reply("not_found_image", id=shown(word))
                return
            found.append(Attachment(data, f"{shown(word)}.png", "image/png"))
        if found:
            command = ctx.command
            ctx.command = dataclasses.replace(command, attachments=(*found, *command.attachments))
    await call_next(ctx)


CHECKS: tuple[Check, ...] = (
    speak_their_language,
    tell_undelivered,
    answer_refusals,
    refuse_banned,
    admins_only,
    take_pictures,
)


def chain(checks: tuple[Check, ...], route: Route) -> Next:
    """The route's handler wrapped in `checks`, the first outermost."""
    call: Next = route.handler
    for check in reversed(checks):
        call = _wrap(check, route, call)
    return call


def _wrap(check: Check, route: Route, call_next: Next) -> Next:
    async def run(ctx: Context) -> None:
        await check(ctx, route, call_next)

    return run
