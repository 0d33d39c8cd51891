"""Which checkpoint serves which model family and role.

The defaults are the hub ids each family's spec declares (`generation.families`); a registry
file (JSON) written next to local checkpoints overrides any of them, and any id may be a local
folder. A family's entry may also list the sizes its checkpoints make (`"sizes": ["64x64",
...]`, for checkpoints trained on a fixed list): the family's size rule becomes that list
(`ModelRegistry.sized`), in validation as in the pipelines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generation.families import DEFAULT_FAMILIES, Checkpoint, Families, SizeList, SizeRule

REGISTRY_FILE = "registry.json"
SIZES_KEY = "sizes"
DEFAULT_DEPTH_ESTIMATOR = Checkpoint("Intel/dpt-hybrid-midas")


class RegistryError(LookupError):
    """A family or role with no checkpoint, or a malformed registry file."""


@dataclass(frozen=True, slots=True)
class Needed:
    """A checkpoint a process needs, and what for ("Kandinsky 2.2 prior")."""

    title: str
    checkpoint: Checkpoint


def hub_checkpoints(families: Families = DEFAULT_FAMILIES) -> dict[str, dict[str, Checkpoint]]:
    """Each family's checkpoints by role, as its spec declares them."""
    return {spec.name: dict(spec.checkpoints) for spec in families}


@dataclass(frozen=True, slots=True)
class ModelRegistry:
    """Maps (family, role) to a checkpoint, names the depth estimator, and the sizes of
    families whose checkpoints make a listed set of sizes other than their spec's."""

    checkpoints: Mapping[str, Mapping[str, Checkpoint]] = field(default_factory=hub_checkpoints)
    depth_estimator: Checkpoint = DEFAULT_DEPTH_ESTIMATOR
    sizes: Mapping[str, SizeRule] = field(default_factory=dict)

    def get(self, family: str, role: str) -> Checkpoint:
        """Return the checkpoint for `role` of `family`."""
        try:
            return self.checkpoints[family][role]
        except KeyError:
            raise RegistryError(f"no checkpoint for Kandinsky {family} {role}") from None

    def families(self) -> list[str]:
        """Return the families that make something from a prompt alone: those with a
        text-to-image checkpoint, or (a video family) a text-to-video one."""
        return [
            family
            for family, roles in self.checkpoints.items()
            if any(role == "text2img" or role.startswith("text2video") for role in roles)
        ]

    def needed(self, families: Sequence[str], *, depth: bool = False) -> list[Needed]:
        """Every checkpoint of `families` (each role's), then the depth estimator if asked."""
        found = [
            Needed(f"Kandinsky {family} {role}", checkpoint)
            for family in families
            for role, checkpoint in self.checkpoints.get(family, {}).items()
        ]
        if depth:
            found.append(Needed("depth estimator", self.depth_estimator))
        return found

    def sized(self, families: Families = DEFAULT_FAMILIES) -> Families:
        """`families` with the size rules this registry's checkpoints declare."""
        return families.with_sizes(self.sizes)

    @classmethod
    def from_file(cls, path: Path, families: Families = DEFAULT_FAMILIES) -> ModelRegistry:
        """Load a registry file; relative paths in it are relative to its folder.

        `path` may be the file or the folder holding `registry.json`. Families the file
        leaves out keep the hub ids of their specs in `families`.
        """
        if path.is_dir():
            path = path / REGISTRY_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise RegistryError(f"cannot read model registry {path}: {error}") from None
        if not isinstance(raw, dict):
            raise RegistryError(f"model registry {path} must hold a JSON object")
        base = path.parent
        checkpoints = hub_checkpoints(families)
        roles = tuple(dict.fromkeys(role for spec in families for role in spec.checkpoints))
        depth = DEFAULT_DEPTH_ESTIMATOR
        sizes: dict[str, SizeRule] = {}
        for key, value in raw.items():
            if key == "depth_estimator":
                depth = _checkpoint(value, base)
                continue
            if key not in families:
                raise RegistryError(f"unknown model family {key!r} in {path}")
            if not isinstance(value, dict) or not set(value) - {SIZES_KEY} <= set(roles):
                raise RegistryError(f"family {key} in {path} must map roles {roles} to ids")
            if SIZES_KEY in value:
                sizes[key] = _sizes(value.pop(SIZES_KEY), f"family {key} in {path}")
            checkpoints[key] = {role: _checkpoint(spec, base) for role, spec in value.items()}
        return cls(checkpoints=checkpoints, depth_estimator=depth, sizes=sizes)


def _sizes(value: object, where: str) -> SizeList:
    """Read a list of sizes written as ["1024x1024", "640x1408", ...]."""
    message = f"{where} must list its sizes as WIDTHxHEIGHT strings, got {value!r}"
    if not isinstance(value, list) or not value:
        raise RegistryError(message)
    sizes = []
    for item in value:
        width, _, height = str(item).partition("x")
        if not (width.isdigit() and height.isdigit() and int(width) and int(height)):
            raise RegistryError(message)
        sizes.append((int(width), int(height)))
    return SizeList(tuple(sizes))


def _checkpoint(spec: object, base: Path) -> Checkpoint:
    """Read a checkpoint written as "id" or {"id": ..., "variant": ...}."""
    if isinstance(spec, str):
        ident, variant = spec, None
    elif isinstance(spec, dict) and isinstance(spec.get("id"), str):
        ident, variant = spec["id"], spec.get("variant")
    else:
        raise RegistryError(f"a checkpoint must be an id or {{'id': ...}}, got {spec!r}")
    local = base / ident
    if not Path(ident).is_absolute() and local.exists():
        ident = str(local.resolve())
    return Checkpoint(ident, variant)
