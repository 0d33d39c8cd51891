"""/help: what the bot can do, or one command with an example."""

from __future__ import annotations

from bot.commands.context import Context
from bot.commands.router import Route, Router
from bot.i18n.catalogue import help_text


async def help_(ctx: Context) -> None:
    """Explain the commands, or one command with an example."""
    topic = ctx.command.text.strip().lstrip("/").lower()
    for entry in ctx.services.menu:
        if topic and topic in (entry.name, *entry.aliases):
            await ctx.reply(entry.help_key)
            return
    await ctx.reply_text(help_text(ctx.language, ctx.config.registry, ctx.command.platform))


def router() -> Router:
    """Help, open to everyone (banned users too)."""
    return Router(Route("help", help_, aliases=("start",), open_to_banned=True))
