"""The one option grammar every chat platform shares.

`parse_command_text` turns the argument text of a chat command, such as
``a lighthouse at dusk --model 2.2 --size 768x512 --neg "blurry, low quality"``,
into a prompt and typed options (the mix syntax, ``a cat::0.3 | #1::0.7``, is read by
`bot.chat.mix`). Only the shape of each value is checked here (is it a number, one of the
choices); ranges are left to `generation.request.validate`.

Tokens are separated by whitespace. A token that starts with a quote (``"…"``,
``'…'``, ``“…”``, ``„…“``, ``«…»``, ``‘…’``) runs to the first matching closing quote
that is followed by whitespace or the end of the text, so apostrophes inside words
(``don't``) never close a quote. A quote with no closing partner is an ordinary
character, except where an option's value starts: there it is refused, naming the option
and showing where the quote opens (``--neg "blurry --size 64x64`` would otherwise hide the
size inside the negative prompt).
Prompt words keep the user's own characters, quotes included; option values lose the
quotes around them. Options may be written ``--key value`` or ``--key=value``, and the
``--`` may be the em dash or en dash that phones make of it.

`--from 12,13.in` names stored pictures by the labels people see (`bot.chat.labels`); the
bot fetches them. `--batch 2/4` asks for an image to be made again as the second of four
made together (`generation.placement`).

This module is pure: it imports only the standard library, `bot.chat.labels`,
`generation.families` (whose names `--model` takes), `generation.placement`,
`generation.request` and `generation.sizes`. Every error it raises is a `GrammarError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.chat.labels import looks_like_label
from bot.chat.tokens import QUOTES, Scanner, split_option
from generation.families import DEFAULT_FAMILIES, Families, SizeRule
from generation.placement import Placement
from generation.request import (
    MAX_SEED,
    SCHEDULERS,
    Limits,
    RequestError,
)
from generation.sizes import parse_size, size_for_aspect

__all__ = [
    "OPTION_NAMES",
    "GrammarError",
    "ParsedText",
    "format_options",
    "parse_command_text",
    "quoted",
    "read_decimal",
]


class GrammarError(RequestError):
    """Command text that cannot be read; names the field and the bad value.

    `str(error)` is a complete sentence fit to show a user.
    """


@dataclass(frozen=True, slots=True)
class ParsedText:
    """A prompt and the options given with it; None (or False) means "not given"."""

    prompt: str
    model: str | None = None
    size: tuple[int, int] | None = None
    aspect: tuple[int, int] | None = None
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    prior_guidance_scale: float | None = None
    prior_steps: int | None = None
    strength: float | None = None
    negative_prompt: str | None = None
    scheduler: str | None = None
    num_images: int | None = None
    init: bool = False
    pictures: tuple[str, ...] | None = None
    placement: tuple[int, ...] | None = None
    seconds: int | None = None
    fps: int | None = None
    fast: bool = False

    def given(self) -> dict[str, object]:
        """Return the options the user set, keyed by `GenerationRequest` field name.

        `size` becomes `width` and `height`, `init` becomes `depth_img2img`, `fast` is given
        only when set; `aspect`
        and `pictures` (the labels `--from` names, `bot.chat.labels`) have no request
        field, so they are left out (see `dimensions`).
        """
        given: dict[str, object] = {}
        for name in _REQUEST_FIELDS:
            value = getattr(self, name)
            if value is not None:
                given[name] = value
        if self.size is not None:
            given["width"], given["height"] = self.size
        if self.init:
            given["depth_img2img"] = True
        if self.fast:
            given["fast"] = True
        return given

    def dimensions(
        self, area: int, limits: Limits | None = None, *, rule: SizeRule
    ) -> tuple[int, int] | None:
        """Return the asked-for (width, height): the size, or the aspect at about `area` pixels.

        An aspect becomes the size the family's size `rule` makes nearest to it. Returns None
        when neither `--size` nor `--ar` was given.
        """
        if self.size is not None:
            return self.size
        if self.aspect is not None:
            return size_for_aspect(self.aspect[0], self.aspect[1], area, limits, rule=rule)
        return None


# ----------------------------------------------------------------------------- values

_INT = re.compile(r"[+-]?[0-9]{1,30}")
_MAX_PICTURES = 16  # labels one --from takes: more than a mix has items
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,5})?")
_ASPECT = re.compile(r"([0-9]{1,6})\s*:\s*([0-9]{1,6})")
_MAX_ASPECT = 4
_SHOWN_CHARS = 60


def quoted(value: str) -> str:
    """Quote `value` for an error message, cut short when it is long."""
    if len(value) > _SHOWN_CHARS:
        value = value[: _SHOWN_CHARS - 1] + "…"
    return repr(value)


def read_decimal(value: str) -> float | None:
    """Read a decimal number (a lone comma counts as the decimal point); None if it is not one."""
    text = value.strip()
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if len(text) > 64 or not _FLOAT.fullmatch(text):
        return None
    return float(text)


def _parse_int(field: str, label: str, value: str, families: Families) -> int:
    text = value.strip()
    if not _INT.fullmatch(text):
        raise GrammarError.of(field, value, "whole_number", name=label, value=quoted(value))
    return int(text)


def _parse_seed(field: str, label: str, value: str, families: Families) -> int:
    seed = _parse_int(field, label, value, families)
    if not 0 <= seed <= MAX_SEED:
        raise GrammarError.of(field, seed, "seed_range", name=label, high=MAX_SEED, value=seed)
    return seed


def _parse_float(field: str, label: str, value: str, families: Families) -> float:
    number = read_decimal(value)
    if number is None:
        raise GrammarError.of(field, value, "not_a_number", name=label, value=quoted(value))
    if not math.isfinite(number):
        raise GrammarError.of(field, value, "not_finite", name=label, value=quoted(value))
    return number


def _parse_model(field: str, label: str, value: str, families: Families) -> str:
    spec = families.lookup(value)
    if spec is None:
        raise GrammarError.of(
            field, value, "one_of", name=label, choices=families.spoken(), value=quoted(value)
        )
    return spec.name


def _parse_size(field: str, label: str, value: str, families: Families) -> tuple[int, int]:
    try:
        if len(value) > 32:
            raise ValueError(value)
        return parse_size(value.strip())
    except ValueError:  # RequestError included
        raise GrammarError.of(
            field, value, "size_format", name=label, value=quoted(value)
        ) from None


def _parse_aspect(field: str, label: str, value: str, families: Families) -> tuple[int, int]:
    match = _ASPECT.fullmatch(value.strip())
    if match is None:
        raise GrammarError.of(field, value, "aspect_format", name=label, value=quoted(value))
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        raise GrammarError.of(field, value, "aspect_positive", name=label, value=quoted(value))
    if max(width, height) > _MAX_ASPECT * min(width, height):
        raise GrammarError.of(
            field, value, "aspect_range", name=label, limit=_MAX_ASPECT, value=quoted(value)
        )
    return width, height


def _parse_scheduler(field: str, label: str, value: str, families: Families) -> str:
    name = value.strip().lower()
    if name in SCHEDULERS:
        return name
    choices = ", ".join(SCHEDULERS)
    close = difflib.get_close_matches(name[:_SHOWN_CHARS], SCHEDULERS, n=1)
    if close:
        raise GrammarError.of(
            field,
            value,
            "one_of_suggest",
            name=label,
            choices=choices,
            value=quoted(value),
            suggestion=close[0],
        )
    raise GrammarError.of(field, value, "one_of", name=label, choices=choices, value=quoted(value))


def _parse_text(field: str, label: str, value: str, families: Families) -> str:
    return value


def _parse_pictures(field: str, label: str, value: str, families: Families) -> tuple[str, ...]:
    """Picture labels separated by commas (whether each exists is left to the bot)."""
    words = tuple(word.strip() for word in value.split(","))
    if len(words) > _MAX_PICTURES or not all(map(looks_like_label, words)):
        raise GrammarError.of(field, value, "picture_label", name=label, value=quoted(value))
    return words


def _parse_placement(field: str, label: str, value: str, families: Families) -> tuple[int, ...]:
    placement = Placement.parse(value)
    if placement is None:
        raise GrammarError.of(field, value, "batch_format", name=label, value=quoted(value))
    return placement.entry()


# ---------------------------------------------------------------------------- options

_Parser = Callable[[str, str, str, Families], object]  # (field, label, value, families) -> value


@dataclass(frozen=True, slots=True)
class _Option:
    """One option: its canonical name, aliases, where it goes and how its value is read."""

    name: str
    attr: str  # the ParsedText attribute
    field: str  # the GenerationRequest field (or "size"/"aspect") errors name
    example: str  # shown when the value is missing; "" for the default family's name
    parse: _Parser | None  # None for a flag
    aliases: tuple[str, ...] = ()


_OPTIONS: tuple[_Option, ...] = (
    _Option("model", "model", "model", "", _parse_model),
    _Option("size", "size", "size", "768x512", _parse_size),
    _Option("ar", "aspect", "aspect", "16:9", _parse_aspect, ("aspect",)),
    _Option("seed", "seed", "seed", "42", _parse_seed),
    _Option("steps", "steps", "steps", "30", _parse_int),
    _Option("cfg", "guidance_scale", "guidance_scale", "4", _parse_float, ("guidance",)),
    _Option(
        "prior-cfg",
        "prior_guidance_scale",
        "prior_guidance_scale",
        "4",
        _parse_float,
        ("prior-guidance",),
    ),
    _Option("prior-steps", "prior_steps", "prior_steps", "25", _parse_int),
    _Option("strength", "strength", "strength", "0.6", _parse_float),
    _Option("neg", "negative_prompt", "negative_prompt", '"blurry"', _parse_text, ("negative",)),
    _Option("scheduler", "scheduler", "scheduler", "ddim", _parse_scheduler, ("sampler",)),
    _Option("n", "num_images", "num_images", "2", _parse_int, ("count",)),
    _Option("init", "init", "depth_img2img", "", None),
    _Option("from", "pictures", "pictures", "12", _parse_pictures),
    _Option("batch", "placement", "placement", "2/4", _parse_placement),
    _Option("seconds", "seconds", "seconds", "5", _parse_int),
    _Option("fps", "fps", "fps", "24", _parse_int),
    _Option("fast", "fast", "fast", "", None),
)

OPTION_NAMES: tuple[str, ...] = tuple(f"--{option.name}" for option in _OPTIONS)
"""The canonical option names, in help-text order."""

_BY_NAME: dict[str, _Option] = {
    name: option for option in _OPTIONS for name in (option.name, *option.aliases)
}
_REQUEST_FIELDS = tuple(
    option.attr
    for option in _OPTIONS
    if option.attr not in ("size", "aspect", "init", "pictures", "fast")
)


def _lookup(label: str, name: str) -> _Option:
    """Return the option called `name`, or refuse it with the nearest valid name."""
    key = name.lower().replace("_", "-")
    option = _BY_NAME.get(key)
    if option is not None:
        return option
    close = difflib.get_close_matches(key[:_SHOWN_CHARS], list(_BY_NAME), n=1)
    shown = label if len(label) <= _SHOWN_CHARS else label[: _SHOWN_CHARS - 1] + "…"
    if close:
        raise GrammarError.of(
            "option", label, "unknown_option_suggest", option=shown, suggestion=close[0]
        )
    raise GrammarError.of(
        "option", label, "unknown_option", option=shown, options=", ".join(OPTION_NAMES)
    )


# ------------------------------------------------------------------------------- parse


def parse_command_text(text: str, families: Families = DEFAULT_FAMILIES) -> ParsedText:
    """Split a command's argument text into the prompt and typed options.

    Options may stand anywhere; the prompt is the other words joined by single spaces.
    `--model` takes the names of `families`. Raises GrammarError for an unknown, repeated or
    badly valued option, a missing value, or `--size` together with `--ar`.
    """
    scanner = Scanner(text)
    words: list[str] = []
    values: dict[str, Any] = {}  # ParsedText attribute -> typed value
    while (token := scanner.next(value=False)) is not None:
        split = split_option(token)
        if split is None:
            words.append(token.raw)
            continue
        label, name, inline = split
        option = _lookup(label, name)
        if token.unclosed:
            raise _unclosed(option, label, token.unclosed)
        if option.attr in values:
            raise GrammarError.of(option.field, label, "option_repeated", option=option.name)
        values[option.attr] = _read_value(option, label, inline, scanner, families)
    if "size" in values and "aspect" in values:
        raise GrammarError.of("size", (values["size"], values["aspect"]), "size_with_aspect")
    return dataclasses.replace(ParsedText(" ".join(words).strip()), **values)


def _read_value(
    option: _Option, label: str, inline: str | None, scanner: Scanner, families: Families
) -> object:
    """Return the typed value of `option`, reading the next token when none came with '='."""
    if option.parse is None:
        if inline is not None:
            raise GrammarError.of(
                option.field, inline, "takes_no_value", name=label, value=quoted(inline)
            )
        return True
    if inline is None:
        token = scanner.next(value=True)
        if token is None or split_option(token) is not None:
            raise GrammarError.of(
                option.field,
                None,
                "needs_value",
                name=label,
                option=option.name,
                example=option.example or families.default,
            )
        if token.unclosed:
            raise _unclosed(option, label, token.unclosed)
        inline = token.text
    return option.parse(option.field, label, inline, families)


_EXCERPT_CHARS = 24


def _unclosed(option: _Option, label: str, rest: str) -> GrammarError:
    """Refuse a value whose opening quote (the first character of `rest`) never closes."""
    excerpt = rest if len(rest) <= _EXCERPT_CHARS else rest[: _EXCERPT_CHARS - 1] + "…"
    return GrammarError.of(
        option.field,
        rest,
        "unclosed_quote",
        name=label,
        quote=rest[0],
        closer=QUOTES[rest[0]][0],
        excerpt=excerpt,
    )


# ------------------------------------------------------------------------------ format

# Quote styles tried in order when writing a text value back.
_QUOTE_STYLES: tuple[tuple[str, str], ...] = (
    ('"', '"'),
    ("'", "'"),
    ("“", "”"),
    ("«", "»"),
    ("‘", "’"),
)


def _quote(value: str) -> str:
    """Quote `value` so that the grammar reads it back unchanged.

    Uses the first quote style whose closing quote never stands before whitespace (or
    at the end) inside `value`; if every style does (vanishingly rare), the first one.
    """
    for opener, closer in _QUOTE_STYLES:
        pattern = re.escape(closer) + r"(?=\s|\Z)"
        if re.search(pattern, value) is None:
            return f"{opener}{value}{closer}"
    return f'"{value}"'


def _render(option: _Option, value: object) -> str:
    """Write one option's value the way the grammar reads it."""
    if option.attr == "size" and isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    if option.attr == "aspect" and isinstance(value, tuple):
        return f"{value[0]}:{value[1]}"
    if option.attr == "negative_prompt":
        return _quote(str(value))
    if option.attr == "pictures" and isinstance(value, tuple):
        return ",".join(value)
    if option.attr == "placement" and isinstance(value, tuple):
        return Placement(*value).spoken()
    return str(value)


def format_options(parsed: ParsedText) -> str:
    """Write the options given in `parsed` back as command text (without the prompt).

    `parse_command_text(format_options(p) + " " + p.prompt)` gives back `p`'s options.
    """
    parts: list[str] = []
    for option in _OPTIONS:
        value = getattr(parsed, option.attr)
        if option.parse is None:
            if value:
                parts.append(f"--{option.name}")
        elif value is not None:
            parts.append(f"--{option.name} {_render(option, value)}")
    return " ".join(parts)
