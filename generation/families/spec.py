"""What a Kandinsky family is, as data: `FamilySpec`, and `Families`, the registry of them.

Everything the bot needs to know about a family outside the engine lives in its spec: the
name users type, the tasks it runs (or the sentence that refuses one), its defaults, its size
rule, the checkpoints it loads and where its pipelines and tiny builder are. The engine imports
those two modules by their dotted paths, so this module and every spec stay pure: they import
only the standard library.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

Capability = Literal[True] | str
"""What a family says of a task: True when it runs it, else the id of the sentence that
refuses it (a key of `generation.messages.ERRORS`)."""

_PREFIX = re.compile(r"^(?:kandinsky|k)[-_ ]?")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A loadable checkpoint: a hub id or local folder, and an optional weights variant."""

    id: str
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class PriorDefaults:
    """The prior's own defaults, for a family that makes image embeddings first."""

    steps: int
    guidance_scale: float


@dataclass(frozen=True, slots=True)
class FamilySpec:
    """One Kandinsky family, declared once.

    `tasks` names every task of `generation.request.Task` (by its value). `checkpoints` maps
    each checkpoint role the family's pipelines load (prior, text2img, inpaint,
    controlnet_depth...) to its hub checkpoint; an operator's registry file may replace any of
    them. `pipelines` and `tiny` are dotted module paths: the module that calls diffusers
    (it declares `PIPELINES`, a `generation.engine.family.FamilyPipelines`) and the module
    that builds the family's tiny random checkpoints (it declares `TINY`, a
    `generation.engine.tiny.TinyBuilder`).
    """

    name: str
    title: str
    tasks: Mapping[str, Capability]
    steps: int
    guidance_scale: float
    prior: PriorDefaults | None
    size_multiple: int
    checkpoints: Mapping[str, Checkpoint]
    pipelines: str
    tiny: str

    @property
    def has_prior(self) -> bool:
        """Whether the family makes image embeddings with a prior first."""
        return self.prior is not None

    def supports(self, task: str) -> bool:
        """Whether the family runs `task`."""
        return self.tasks.get(task) is True

    def refusal(self, task: str) -> str | None:
        """The id of the sentence refusing `task`, or None when the family runs it."""
        capability = self.tasks[task]
        return None if capability is True else capability


@dataclass(frozen=True, slots=True)
class Families:
    """The families the bot knows, in the order users see them, and the default one."""

    specs: tuple[FamilySpec, ...]
    default: str

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.specs]
        if len(set(names)) != len(names):
            raise ValueError(f"model family names must differ, got {', '.join(names)}")
        if self.default not in names:
            raise ValueError(f"the default model family {self.default!r} is not one of {names}")

    def __iter__(self) -> Iterator[FamilySpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.specs)

    def names(self) -> tuple[str, ...]:
        """The family names, as users type them after `--model`."""
        return tuple(spec.name for spec in self.specs)

    def choices(self) -> tuple[tuple[str, str], ...]:
        """(name, title) of each family, for menus and autocomplete."""
        return tuple((spec.name, spec.title) for spec in self.specs)

    def get(self, name: str) -> FamilySpec:
        """The family called `name` exactly; LookupError names the known ones."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise LookupError(f"unknown model family {name!r}; the families are {self.spoken()}")

    def lookup(self, word: str) -> FamilySpec | None:
        """The family `word` names, as a person may write it (`2.2`, `k2.2`, `Kandinsky-3`)."""
        text = word.strip().lower()
        for candidate in (text, _PREFIX.sub("", text, count=1)):
            for spec in self.specs:
                if spec.name.lower() == candidate:
                    return spec
        return None

    def spoken(self) -> str:
        """The names as a list for a sentence: `2.1, 2.2, 3`."""
        return ", ".join(self.names())

    def for_task(self, task: str, preferred: str) -> str:
        """`preferred` when it runs `task`, else the first family that does (else `preferred`)."""
        if preferred in self and self.get(preferred).supports(task):
            return preferred
        return next((spec.name for spec in self.specs if spec.supports(task)), preferred)

    def with_family(self, spec: FamilySpec) -> Families:
        """A new registry with `spec` added after the others."""
        return dataclasses.replace(self, specs=(*self.specs, spec))
