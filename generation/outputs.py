"""Result pictures written to a folder: the one naming scheme of `generate` and the console.

A picture is saved as `kandinsky-NNN-TASK-MODEL-SEED.png` (`kandinsky-007-text2img-2.2-42.png`),
a video the same with `.mp4`:
NNN is the next number free in the folder, so names sort in the order they were made and
nothing there is overwritten; task, model and seed come from the recipe the PNG carries.
Imports `generation.images` (PIL) to read that recipe.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path

from generation.images import read_recipe
from generation.media import suffix
from generation.request import RequestError

STEM = "kandinsky"
_NUMBERED = re.compile(rf"{STEM}-(\d+)(?:-.*)?\.(?:png|mp4)")
_UNSAFE = re.compile(r"[^\w.+]+")


def picture_name(number: int, recipe: dict[str, object], suffix: str = ".png") -> str:
    """The file name of the `number`th picture (or video: `suffix`) of a folder, made with
    `recipe`."""
    parts = [f"{number:03d}"] + [
        _UNSAFE.sub("_", str(recipe[key])) for key in ("task", "model", "seed") if key in recipe
    ]
    return f"{STEM}-{'-'.join(parts)}{suffix}"


def _recipe(png: bytes) -> dict[str, object]:
    try:
        return dict(read_recipe(png))
    except RequestError:  # not one of ours: the number alone names it
        return {}


def _next_number(folder: Path) -> int:
    numbers = (
        int(match[1]) for path in folder.iterdir() if (match := _NUMBERED.fullmatch(path.name))
    )
    return max(numbers, default=0) + 1


def save_pictures(folder: Path, pictures: Iterable[bytes]) -> list[Path]:
    """Write each PNG of `pictures` into `folder` (made if missing); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for png in pictures:
        recipe = _recipe(png)
        # Another process may take a name between the look and the write: then the next.
        for number in itertools.count(_next_number(folder)):
            path = folder / picture_name(number, recipe, suffix(png))
            try:
                with path.open("xb") as file:
                    file.write(png)
            except FileExistsError:
                continue
            paths.append(path)
            break
    return paths
