"""What a platform needs to list the bot's commands in its own menu.

The command router (`bot.commands`) declares each command once; the composition root hands
the resulting `CommandInfo` list to every adapter, which builds its menu from it (Telegram's
`setMyCommands`, Discord's command tree, the console's help).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """One command as a menu shows it."""

    name: str
    help_key: str
    aliases: tuple[str, ...] = ()
    admin_only: bool = False
    private_default: bool = False  # a plain message in a private chat means this command


def default_menu() -> tuple[CommandInfo, ...]:
    """Today's commands, as the menus list them (menu order)."""
    return (
        CommandInfo("imagine", "help_imagine", ("i", "draw", "t2i"), private_default=True),
        CommandInfo("img2img", "help_img2img", ("redraw", "i2i")),
        CommandInfo("inpaint", "help_inpaint", ("repaint",)),
        CommandInfo("mix", "help_mix", ("blend",)),
        CommandInfo("depth", "help_depth", ("controlnet",)),
        CommandInfo("reroll", "help_reroll", ("again",)),
        CommandInfo("variations", "help_variations", ("vary", "v")),
        CommandInfo("init", "help_init", ("use",)),
        CommandInfo("history", "help_history", ("h",)),
        CommandInfo("show", "help_show", ("recipe",)),
        CommandInfo("settings", "help_settings", ("prefs",)),
        CommandInfo("quota", "help_quota", ("limits",)),
        CommandInfo("queue", "help_queue", ("q",)),
        CommandInfo("cancel", "help_cancel", ("stop",)),
        CommandInfo("language", "help_language", ("lang",)),
        CommandInfo("help", "help_help", ("start",)),
        CommandInfo("link", "help_link"),
        CommandInfo("admin", "help_admin", admin_only=True),
    )
