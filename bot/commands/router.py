"""Command routing: each feature module declares its commands beside their handlers.

A `Router` is a plain table of `Route`s. Feature modules each return one from `router()`;
the composition root includes them into the bot's router, and adapters get their menus
from the same declarations (`Router.menu`). Nothing registers itself on import.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.chat.menu import CommandInfo

if TYPE_CHECKING:
    from bot.commands.context import Context

Handler = Callable[["Context"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    """One command: its name, aliases, who may call it and its help sentence."""

    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    admin_only: bool = False
    private_default: bool = False  # a plain message in a private chat means this command
    open_to_banned: bool = False
    help_key: str = ""
    pictures: bool = False  # it takes pictures: `--from` may name stored ones
    listed: bool = True  # in the platforms' menus (False: a button's command only)

    @property
    def help(self) -> str:
        """The catalogue key of the command's help sentence."""
        return self.help_key or f"help_{self.name}"

    def info(self) -> CommandInfo:
        """The command as a platform's menu shows it."""
        return CommandInfo(
            name=self.name,
            help_key=self.help,
            aliases=self.aliases,
            admin_only=self.admin_only,
            private_default=self.private_default,
        )


class Router:
    """Routes by name and alias; refuses two commands that claim the same word."""

    def __init__(self, *routes: Route) -> None:
        self._routes: dict[str, Route] = {}
        self._words: dict[str, str] = {}
        for route in routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        for word in (route.name, *route.aliases):
            word = word.lower()
            if word in self._words:
                raise ValueError(f"/{word} is declared twice ({self._words[word]}, {route.name})")
            self._words[word] = route.name
        self._routes[route.name] = route

    def include(self, *routers: Router) -> Router:
        """Add every route of `routers`; return self."""
        for router in routers:
            for route in router:
                self._add(route)
        return self

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes.values())

    def find(self, word: str) -> Route | None:
        """The route `word` names (its name or an alias, any case)."""
        name = self._words.get(word.lower())
        return None if name is None else self._routes[name]

    def suggest(self, word: str) -> str | None:
        """The command name closest to a mistyped `word`."""
        close = difflib.get_close_matches(word.lower(), list(self._routes), n=1)
        return close[0] if close else None

    def menu(self) -> list[CommandInfo]:
        """Every command as platform menus list them, in declaration order."""
        return [route.info() for route in self if route.listed]
