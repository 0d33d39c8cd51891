"""The Kandinsky model families: one package each, and the registry that lists them.

Each family package (`k21`, `k22`, `k3`, `k5`, `k5v`) declares its `SPEC` (a
`spec.FamilySpec`) in its `__init__`, which stays pure; beside it, `pipelines` calls diffusers
and `tiny` builds the family's tiny random checkpoints (both import torch, and only the engine
imports them, by the dotted paths the spec names). This package and the specs import only the
standard library, so the request model, storage and the adapters may use them.

`DEFAULT_FAMILIES` is the one list of the families the bot ships with; everything else (the
request model's validation, the option grammar, settings, the worker's `--models`, menus,
help texts, checkpoints, tiny models and the README's matrix) is derived from it.
"""

from __future__ import annotations

from generation.families import k3, k5, k5v, k21, k22
from generation.families.spec import (
    Capability,
    Checkpoint,
    Families,
    FamilySpec,
    MultipleOf,
    PriorDefaults,
    SizeList,
    SizeRule,
    VideoRule,
)

DEFAULT_FAMILIES = Families(specs=(k21.SPEC, k22.SPEC, k3.SPEC, k5.SPEC, k5v.SPEC), default="2.2")
"""The families the bot ships with, in the order users see them; 2.2 when none is named."""

__all__ = [
    "DEFAULT_FAMILIES",
    "Capability",
    "Checkpoint",
    "Families",
    "FamilySpec",
    "MultipleOf",
    "PriorDefaults",
    "SizeList",
    "SizeRule",
    "VideoRule",
]
