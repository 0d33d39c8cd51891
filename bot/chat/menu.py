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
