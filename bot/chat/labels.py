"""The numbers people see: jobs, the pictures they made, and the pictures they were given.

A picture is numbered after the job that made it, so "Job #12" and its picture agree: `12`
when job 12 made one picture, `12.1`, `12.2`, ... when it made several. The pictures a job
was given (a photo sent with /img2img, a mask) are `12.in` (or `12.in1`, `12.in2`, ... when
there were several), so the command that makes a picture again can name what it started
from. `format_label` writes a label and `parse_label` reads one back (a leading `#` is
allowed); stored rows keep their own ids, which buttons carry.

Pure: imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "MAX_ID",
    "Label",
    "Numbered",
    "format_label",
    "image_label",
    "looks_like_label",
    "parse_label",
    "stored_id",
]

MAX_ID = 2**31 - 1  # the largest id a stored row can have, on SQLite and PostgreSQL alike
_MAX_NUMBER = 999  # more pictures than any job makes or is given
_LABEL = re.compile(r"#?([0-9]+)(?:\.(in)?([0-9]+)?)?")


def stored_id(word: str) -> int | None:
    """The id `word` names (`12` or `#12`); None when no stored row can have it."""
    digits = word.strip().removeprefix("#")
    if not digits.isascii() or not digits.isdigit():
        return None
    significant = digits.lstrip("0")
    if len(significant) > len(str(MAX_ID)):  # and int() refuses thousands of digits
        return None
    value = int(significant or "0")
    return value if 1 <= value <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class Label:
    """A picture as people name it: of job `job`, the `index`th (from 0) it made, or, when
    `given`, the `index`th it was given. `index` is None for a bare `12` or `12.in`: the
    job's only picture, or its first."""

    job: int
    index: int | None = None
    given: bool = False


def format_label(job: int, index: int = 0, count: int = 1, *, given: bool = False) -> str:
    """The label of picture `index` (from 0) of the `count` job `job` made (or was given)."""
    suffix = ".in" if given else ""
    if count > 1:
        suffix = f"{suffix or '.'}{index + 1}"
    return f"{job}{suffix}"


class Numbered(Protocol):
    """A stored picture as labels need it (`storage.records.ImageRecord` is one)."""

    @property
    def job_id(self) -> int:
        """The job that made it."""
        ...

    @property
    def position(self) -> int:
        """Its place (from 0) among the pictures the job made."""
        ...

    @property
    def count(self) -> int:
        """How many pictures the job made."""
        ...


def image_label(image: Numbered) -> str:
    """The label of a stored picture: `12`, or `12.2` for the second of several."""
    return format_label(image.job_id, image.position, image.count)


def looks_like_label(word: str) -> bool:
    """Whether `word` is written like a label (it may still name nothing that can exist)."""
    return _LABEL.fullmatch(word.strip()) is not None


def parse_label(word: str) -> Label | None:
    """Read a label written by `format_label` (`12`, `#12.2`, `12.in`, `12.in2`); None when it
    is not one or names a picture that cannot exist."""
    match = _LABEL.fullmatch(word.strip())
    if match is None or not word.isascii():
        return None
    number, given, index = match.group(1), match.group(2) is not None, match.group(3)
    job = stored_id(number)
    if job is None:
        return None
    if index is None:
        bare = given or "." not in word
        return Label(job, None, given) if bare else None
    if len(index) > len(str(_MAX_NUMBER)) or not 1 <= int(index) <= _MAX_NUMBER:
        return None
    return Label(job, int(index) - 1, given)
