"""The mix syntax: texts and pictures with weights, ``a cat::0.3 | #1::0.7``.

`parse_mix` reads the items of a /mix command (its prompt, once the options are read by
`bot.chat.grammar`); `parse_mix_item` reads one item, as the command line's ``--mix`` does.
Pure: imports only `bot.chat.grammar` and the standard library. Every error is a
`GrammarError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.chat.grammar import GrammarError, quoted, read_decimal


@dataclass(frozen=True, slots=True)
class MixSpec:
    """One mix item as written: a text or a picture reference (0-based), and a weight."""

    text: str | None = None
    picture: int | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if (self.text is None) == (self.picture is None):
            raise GrammarError.of("mix", self.text, "mix_spec_kind")


_PICTURE = re.compile(r"#([0-9]+)")
_MAX_PICTURE_DIGITS = 6


def parse_mix(text: str) -> list[MixSpec]:
    """Read the mix syntax: items split on '|', each `text::weight` or `#N::weight`.

    Pass the prompt part of the command (`ParsedText.prompt`). The weight is optional
    (default 1.0); `#N` is the N-th attached picture, counted from 1. Raises GrammarError
    for an empty item, a bad weight or picture number. Item counts are left to
    `generation.request.validate`.
    """
    return [parse_mix_item(item, number) for number, item in enumerate(text.split("|"), start=1)]


def parse_mix_item(item: str, number: int = 1) -> MixSpec:
    """Read one mix item, `text::weight` or `#N::weight` (the weight is optional).

    `number` is the item's place, counted from 1, for the error messages.
    """
    body, separator, weight_text = item.rpartition("::")
    if not separator:
        body, weight = item, 1.0
    else:
        weight = _mix_weight(number, weight_text)
    body = body.strip()
    if not body:
        raise GrammarError.of("mix", item, "mix_item_empty", number=number)
    picture = _PICTURE.fullmatch(body)
    if picture is None:
        return MixSpec(text=body, weight=weight)
    digits = picture.group(1)
    if len(digits) > _MAX_PICTURE_DIGITS or int(digits) < 1:
        raise GrammarError.of("mix", body, "mix_picture_number", number=number, value=body)
    return MixSpec(picture=int(digits) - 1, weight=weight)


def _mix_weight(number: int, text: str) -> float:
    """Read the weight after '::' in mix item `number`."""
    weight = read_decimal(text)
    if weight is None:
        raise GrammarError.of(
            "weight", text, "weight_not_a_number", number=number, value=quoted(text)
        )
    if not math.isfinite(weight):
        raise GrammarError.of(
            "weight", text, "weight_not_finite", number=number, value=quoted(text)
        )
    if weight < 0:
        raise GrammarError.of("weight", weight, "weight_negative", number=number, weight=weight)
    return weight
