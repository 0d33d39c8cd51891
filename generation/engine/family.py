"""A family's pipelines as the engine sees them: the typed contract of its `pipelines` module.

A family's spec (`generation.families.spec.FamilySpec`) names its pipelines module by its
dotted path; that module declares `PIPELINES`, a `FamilyPipelines`. The engine imports it
here, on first use, so nothing pure ever imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from generation.engine.cache import PipelineCache, PipelineSpec
from generation.engine.calls import Call
from generation.families import FamilySpec

Output = Image.Image | list[Image.Image]
"""What a call makes for one output: a picture, or a video's frames."""
Run = Callable[[PipelineCache, Call], Sequence[Output]]
"""Run one call and return its outputs, one entry per output image (or video), in order."""


@dataclass(frozen=True, slots=True)
class FamilyPipelines:
    """What a family's pipelines module declares: its pipelines by role and how to run a call."""

    roles: Mapping[str, PipelineSpec]
    run: Run


def load_pipelines(spec: FamilySpec) -> FamilyPipelines:
    """Import the pipelines module `spec` names and return its `PIPELINES`."""
    module = importlib.import_module(spec.pipelines)
    pipelines = getattr(module, "PIPELINES", None)
    if not isinstance(pipelines, FamilyPipelines):
        raise TypeError(f"{spec.pipelines} must declare PIPELINES, a FamilyPipelines")
    return pipelines
