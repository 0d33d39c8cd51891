"""Which checkpoint serves which model family and role.

The defaults are the Hugging Face hub ids; a registry file (JSON) written next to local
checkpoints overrides them, and any id may be a local folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from generation.request import Family

REGISTRY_FILE = "registry.json"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A loadable checkpoint: a hub id or local folder, and an optional weights variant."""

    id: str
    variant: str | None = None


# Roles a family may have: a prior, decoders per task, and a ControlNet.
ROLES = ("prior", "text2img", "inpaint", "controlnet_depth")

DEFAULT_CHECKPOINTS: dict[Family, dict[str, Checkpoint]] = {
    Family.K21: {
        "prior": Checkpoint("kandinsky-community/kandinsky-2-1-prior"),
        "text2img": Checkpoint("kandinsky-community/kandinsky-2-1"),
        "inpaint": Checkpoint("kandinsky-community/kandinsky-2-1-inpaint"),
    },
    Family.K22: {
        "prior": Checkpoint("kandinsky-community/kandinsky-2-2-prior"),
        "text2img": Checkpoint("kandinsky-community/kandinsky-2-2-decoder"),
        "inpaint": Checkpoint("kandinsky-community/kandinsky-2-2-decoder-inpaint"),
        "controlnet_depth": Checkpoint("kandinsky-community/kandinsky-2-2-controlnet-depth"),
    },
    Family.K3: {
        "text2img": Checkpoint("kandinsky-community/kandinsky-3", variant="fp16"),
    },
}
DEFAULT_DEPTH_ESTIMATOR = Checkpoint("Intel/dpt-hybrid-midas")


class RegistryError(LookupError):
    """A family or role with no checkpoint, or a malformed registry file."""


@dataclass(frozen=True, slots=True)
class ModelRegistry:
    """Maps (family, role) to a checkpoint, and names the depth estimator."""

    checkpoints: dict[Family, dict[str, Checkpoint]] = field(
        default_factory=lambda: {
            family: dict(roles) for family, roles in DEFAULT_CHECKPOINTS.items()
        }
    )
    depth_estimator: Checkpoint = DEFAULT_DEPTH_ESTIMATOR

    def get(self, family: Family, role: str) -> Checkpoint:
        """Return the checkpoint for `role` of `family`."""
        try:
            return self.checkpoints[family][role]
        except KeyError:
            raise RegistryError(f"no checkpoint for Kandinsky {family} {role}") from None

    def families(self) -> list[Family]:
        """Return the families that have at least a text-to-image checkpoint."""
        return [family for family, roles in self.checkpoints.items() if "text2img" in roles]

    @classmethod
    def from_file(cls, path: Path) -> ModelRegistry:
        """Load a registry file; relative paths in it are relative to its folder.

        `path` may be the file or the folder holding `registry.json`. Families the file
        leaves out keep their hub defaults.
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
        registry = cls()
        checkpoints = registry.checkpoints
        depth = registry.depth_estimator
        for key, value in raw.items():
            if key == "depth_estimator":
                depth = _checkpoint(value, base)
                continue
            try:
                family = Family(key)
            except ValueError:
                raise RegistryError(f"unknown model family {key!r} in {path}") from None
            if not isinstance(value, dict) or not set(value) <= set(ROLES):
                raise RegistryError(f"family {key} in {path} must map roles {ROLES} to ids")
            checkpoints[family] = {role: _checkpoint(spec, base) for role, spec in value.items()}
        return cls(checkpoints=checkpoints, depth_estimator=depth)


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
