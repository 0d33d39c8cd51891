"""How the option grammar splits a command's text into words, quoted values and options.

Quotes may be straight or typographic (`"…"`, `“…”`, `«…»`, `„…“`); a quote that opens an
option's value and never closes takes the rest of the text (the grammar then refuses it,
showing where it opens). Scanning is linear in the text's length. An option's `--` may be the
em or en dash a phone makes of it (`as_option`, which the command line uses too).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# Each opening quote and the closing quotes that end it.
QUOTES: dict[str, str] = {'"': '"', "'": "'", "“": "”", "„": "“”", "«": "»", "‘": "’"}
_CLOSING = re.compile("[" + re.escape("".join(set("".join(QUOTES.values())))) + r"](?=\s|\Z)")
_SPACES = re.compile(r"\s*")
_WORD = re.compile(r"\S*")
PHONE_DASHES = "—–"  # the em and en dash a phone makes of `--`
OPTION_START = re.compile(f"(?:--|[{PHONE_DASHES}])[A-Za-z]")


def as_option(word: str) -> str:
    """`word` with the `--` that starts an option spelled out: phones make it an em or en dash.

    `—model` and `–model` become `--model`; any other word is returned as it is. The chat
    grammar and the command line both read options through this.
    """
    if word.startswith(tuple(PHONE_DASHES)) and OPTION_START.match(word):
        return "--" + word[1:]
    return word


def _end_of(pattern: re.Pattern[str], text: str, start: int) -> int:
    """Return where `pattern` (one that matches the empty text too) stops matching."""
    match = pattern.match(text, start)
    return match.end() if match is not None else start


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the text: as written (`raw`) and with its quotes taken off (`text`).

    `unclosed` is the text from a value's opening quote on when that quote never closes.
    """

    raw: str
    text: str
    quoted: bool
    unclosed: str = ""


class Scanner:
    """Splits text into tokens one at a time, in linear time overall."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        # Where each closing quote stands before whitespace or the end, in order.
        self._closers: dict[str, list[int]] = {}
        for match in _CLOSING.finditer(text):
            self._closers.setdefault(match.group(), []).append(match.start())

    def next(self, *, value: bool) -> Token | None:
        """Return the next token, or None at the end.

        With `value`, the token is an option's value: an unclosed quote takes the rest.
        """
        text = self._text
        start = _end_of(_SPACES, text, self._pos)
        if start >= len(text):
            self._pos = len(text)
            return None
        if text[start] in QUOTES:
            token = self._quoted(start, rest=value)
            if token is not None:
                return token
        return self._word(start)

    def _close(self, opener: str, start: int) -> int:
        """Return where the quote opened by `opener` closes, at or after `start`; -1 if never."""
        found = -1
        for closer in QUOTES[opener]:
            positions = self._closers.get(closer, [])
            index = bisect_left(positions, start)
            if index < len(positions) and (found < 0 or positions[index] < found):
                found = positions[index]
        return found

    def _quoted(self, start: int, *, rest: bool) -> Token | None:
        text = self._text
        close = self._close(text[start], start + 1)
        if close >= 0:
            self._pos = close + 1
            return Token(text[start : close + 1], text[start + 1 : close], quoted=True)
        if rest:
            self._pos = len(text)
            return Token(text[start:], text[start + 1 :], quoted=True, unclosed=text[start:])
        return None

    def _word(self, start: int) -> Token:
        text = self._text
        end = _end_of(_WORD, text, start)
        self._pos = end
        if OPTION_START.match(text, start):
            equals = text.find("=", start, end)
            if equals >= 0 and equals + 1 < end and text[equals + 1] in QUOTES:
                return self._quoted_assignment(start, equals)
        return Token(text[start:end], text[start:end], quoted=False)

    def _quoted_assignment(self, start: int, equals: int) -> Token:
        """Read `--key="a value"`, whose quote may close after whitespace."""
        text = self._text
        close = self._close(text[equals + 1], equals + 2)
        end = close if close >= 0 else len(text)
        self._pos = close + 1 if close >= 0 else len(text)
        raw = text[start : self._pos]
        value = text[start : equals + 1] + text[equals + 2 : end]
        return Token(raw, value, quoted=False, unclosed="" if close >= 0 else text[equals + 1 :])


def split_option(token: Token) -> tuple[str, str, str | None] | None:
    """Return (label, name, value after '=' or None) for an option token, else None."""
    if token.quoted or not OPTION_START.match(token.text):
        return None
    body = as_option(token.text)[2:]
    name, _, inline = body.partition("=")
    return f"--{name.lower()}", name, (inline if inline or token.raw != token.text else None)
