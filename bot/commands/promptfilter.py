"""The prompt filter's matching: text normalised so a listed word is found in its disguises.

`normalise` folds case, strips accents, reads leetspeak digits and signs as letters, turns
Cyrillic and Greek look-alikes into the Latin letters they pass for, squeezes a letter
repeated three times or more to two, and keeps words apart by single spaces; letters spelt out
one at a time (`n u d e`, `n.u.d.e`) are joined. A listed word or phrase matches where its
normalised form stands as whole words in the prompt's, or anywhere in a run of spelt-out
letters (`nude` matches `NÚDE`, `n.u.d.e`, `a n u d e`, `nud3`, `nudе` with a Cyrillic е; not
`denuded`). A listed word without doubled letters also matches with the prompt's repeats
squeezed to one (`nuuude`, `nudde`); one with doubled letters keeps them (a listed `ass`
matches `a$$` and `asss`, never the word `as`).
Pure: no I/O.

`BUILT_IN` is the list the operator may switch off (`/admin filter defaults off`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_LOOKALIKES = str.maketrans(
    {
        # Cyrillic letters that look Latin
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ո": "n",
        # Greek ones
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        # leetspeak
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
_SEPARATORS = re.compile(r"[^\w]+|_+")
_REPEATS = re.compile(r"(\w)\1+")
_LONG_REPEATS = re.compile(r"(\w)\1{2,}")

BUILT_IN: tuple[str, ...] = (
    "nude",
    "nudes",
    "nudity",
    "naked",
    "topless",
    "nsfw",
    "porn",
    "porno",
    "pornographic",
    "hentai",
    "explicit sex",
    "sex scene",
    "having sex",
    "erotic",
    "nipples",
    "genitals",
    "penis",
    "vagina",
    "undressed",
    "child abuse",
    "gore",
    "beheading",
    "голая",
    "голый",
    "обнаженная",
    "порно",
    "эротика",
)
"""The built-in list: nudity, sexual content and graphic violence, in English and Russian."""


def _words(text: str) -> list[tuple[str, bool]]:
    """The normalised words of `text`, each with whether it was spelt out letter by letter."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    words = _SEPARATORS.sub(" ", plain.translate(_LOOKALIKES)).split()
    joined: list[tuple[str, bool]] = []
    spelt = ""
    for word in words:
        if len(word) == 1:
            spelt += word
            continue
        if spelt:
            joined.append((spelt, True))
            spelt = ""
        joined.append((word, False))
    if spelt:
        joined.append((spelt, True))
    return [(_LONG_REPEATS.sub(r"\1\1", word), was_spelt) for word, was_spelt in joined]


def normalise(text: str) -> str:
    """`text` as the filter reads it: words of plain lowercase letters, single spaces."""
    return " ".join(word for word, _ in _words(text))


def matches(text: str, words: Iterable[str]) -> bool:
    """Whether `text` holds any of `words` (given normalised) as whole words, or inside a
    run of letters spelt out one at a time."""
    found = _words(text)
    forms = {
        kept: (f" {' '.join(squeezed(w) for w, _ in found)} ", [squeezed(w) for w, s in found if s])
        for kept, squeezed in ((True, str), (False, _single))
    }
    for word in words:
        if not word:
            continue
        padded, runs = forms[_single(word) != word]
        if f" {word} " in padded or any(word in run for run in runs):
            return True
    return False


def _single(word: str) -> str:
    """`word` with every repeated letter once."""
    return _REPEATS.sub(r"\1", word)


def built_in() -> tuple[str, ...]:
    """The built-in list, normalised."""
    return tuple(normalise(word) for word in BUILT_IN)
