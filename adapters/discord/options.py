"""Slash-command options: bounds and suggestions from the operator's settings, and the way
options are written back into the shared command grammar.

`Options.of(config)` reads the configured limits (prompt length, steps, guidance), the sizes
worth suggesting (the default size first, then common sizes and aspect ratios that fit
`KBOT_MAX_SIDE` and `KBOT_MAX_PIXELS`; once a model that makes only listed sizes is chosen,
its list) and the model families users may choose.
`command_text` turns the options a user filled in into `a fox --model 2.2 --seed 4`, which
the bot parses like text typed on any other platform.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import discord
from discord import app_commands

from adapters.discord.config import DiscordConfig
from bot.chat.grammar import ParsedText, format_options
from generation.families import DEFAULT_FAMILIES, Families, SizeList
from generation.request import SCHEDULERS, Limits

_F = TypeVar("_F", bound=Callable[..., Any])

MAX_OPTION_LENGTH = 6000
"""The longest string option Discord takes."""
SIZES = ("512x512", "768x768", "1024x1024", "768x512", "512x768", "1024x576", "576x1024")
ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
MAX_CHOICES = 25

PROMPT = "what to draw (options such as --prior-steps 10 may follow)"
IMAGE = "a PNG, JPEG or WebP picture"
USER = "discord:ID, telegram:ID, #number or a @mention"
_DESCRIBE: dict[str, str] = {
    "negative": "what to avoid",
    "size": "WIDTHxHEIGHT in multiples of 64 (768x512) or an aspect ratio (16:9)",
    "seed": "the same seed and settings make the same picture",
    "steps": "denoising steps: more is slower and finer",
    "guidance": "how closely to follow the prompt",
    "scheduler": "the sampler",
    "count": "how many pictures",
    "strength": "how much to change the picture: 0 keeps it, 1 ignores it",
}


def _within(limits: Limits, sizes: Iterable[str]) -> tuple[str, ...]:
    """The sizes (`768x512`) that fit the limits, each once, in order."""
    kept: list[str] = []
    for size in sizes:
        width, height = (int(part) for part in size.split("x"))
        fits = limits.min_side <= min(width, height) and max(width, height) <= limits.max_side
        if fits and width * height <= limits.max_pixels and size not in kept:
            kept.append(size)
    return tuple(kept)


def _sizes(config: DiscordConfig) -> tuple[str, ...]:
    """The default square size first, then the common sizes within the limits."""
    side = config.default_size
    return _within(config.limits, (f"{side}x{side}", *SIZES))


def _listed(config: DiscordConfig) -> dict[str, tuple[str, ...]]:
    """The sizes of each family that makes only listed ones, within the limits."""
    return {
        spec.name: _within(config.limits, (f"{w}x{h}" for w, h in spec.size_rule.sizes))
        for spec in config.registry
        if isinstance(spec.size_rule, SizeList)
    }


def _either(values: Sequence[str]) -> str:
    """`2.1, 2.2 or 3`."""
    return " or ".join(filter(None, (", ".join(values[:-1]), *values[-1:])))


def suggest(values: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    """The values containing what the user typed so far."""
    typed = current.strip().lower()
    chosen = [app_commands.Choice(name=v, value=v) for v in values if typed in v.lower()]
    return chosen[:MAX_CHOICES]


async def complete_scheduler(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The schedulers users may choose."""
    return suggest(SCHEDULERS, current)


@dataclass(frozen=True, slots=True)
class Options:
    """The bounds and suggestions of the slash commands' options."""

    max_prompt: int
    max_steps: int
    max_guidance: float
    sizes: tuple[str, ...]
    families: tuple[str, ...]
    listed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The sizes of the families that make only listed ones, by family name."""
    registry: Families = DEFAULT_FAMILIES

    @classmethod
    def of(cls, config: DiscordConfig) -> Options:
        """The options the operator's settings give."""
        return cls(
            max_prompt=min(config.limits.max_prompt_chars, MAX_OPTION_LENGTH),
            max_steps=config.limits.max_steps,
            max_guidance=float(config.limits.max_guidance),
            sizes=_sizes(config),
            families=config.families,
            listed=_listed(config),
            registry=config.registry,
        )

    def described(self, **extra: str) -> Callable[[_F], _F]:
        """`describe` with the shared option texts (those the command has) plus `extra`."""
        model = f"Kandinsky version: {_either(self.families)}".rstrip(": ")
        shared = _DESCRIBE | {"model": model} | extra

        def decorate(callback: _F) -> _F:
            names = inspect.signature(callback).parameters
            texts = {name: line for name, line in shared.items() if name in names}
            return app_commands.describe(**texts)(callback)

        return decorate

    def family_choices(self) -> list[app_commands.Choice[str]]:
        """The families as fixed choices (admin commands)."""
        return [app_commands.Choice(name=family, value=family) for family in self.families]

    async def complete_model(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Kandinsky versions."""
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=f"Kandinsky {family}", value=family)
            for family in self.families
            if typed in f"kandinsky {family}".lower()
        ][:MAX_CHOICES]

    async def complete_size(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Sizes within the limits (the chosen model's list, if it makes only listed sizes),
        and common aspect ratios."""
        return suggest((*self.sizes_for(interaction.namespace.model), *ASPECTS), current)

    def sizes_for(self, model: object) -> tuple[str, ...]:
        """The sizes to suggest when `model` (as typed, perhaps nothing yet) is chosen."""
        spec = self.registry.lookup(model) if isinstance(model, str) else None
        return self.listed.get(spec.name, self.sizes) if spec is not None else self.sizes


def command_text(prompt: str, **options: object) -> str:
    """Write a prompt and options in the shared grammar: `a fox --model 2.2 --seed 4`."""
    parts = [prompt.strip()] if prompt.strip() else []
    for name, value in options.items():
        if value is None or value is False or value == "":
            continue
        if value is True:
            parts.append(f"--{name}")
        elif name == "neg":
            parts.append(format_options(ParsedText("", negative_prompt=str(value))))
        else:
            parts.append(f"--{name} {''.join(str(value).split())}")
    return " ".join(parts)


def shape(size: str | None) -> dict[str, str | None]:
    """`--ar` for an aspect ratio like 16:9, `--size` for 768x512."""
    if size and ":" in size:
        return {"ar": size}
    return {"size": size}


def user_ref(user: str) -> str:
    """A mention or a bare snowflake becomes `discord:<id>`; other forms pass as typed."""
    user = user.strip()
    mention = re.fullmatch(r"<@!?(\d+)>", user)
    if mention is not None:
        return f"discord:{mention.group(1)}"
    return f"discord:{user}" if user.isdigit() else user


def words(*parts: object) -> str:
    """The parts given, separated by spaces."""
    return " ".join(str(part) for part in parts if part is not None and part != "")
