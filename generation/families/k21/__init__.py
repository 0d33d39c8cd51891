"""Kandinsky 2.1, declared: a prior, then a decoder that reads the text too."""

from __future__ import annotations

from generation.families.spec import Checkpoint, FamilySpec, MultipleOf, PriorDefaults

SPEC = FamilySpec(
    name="2.1",
    title="Kandinsky 2.1",
    tasks={
        "text2img": True,
        "img2img": True,
        "inpaint": True,
        "mix": True,
        "depth": "depth_only_k22",
        "edit": "edit_elsewhere",
        "animate": "animate_only_5v",
    },
    steps=50,
    guidance_scale=4.0,
    prior=PriorDefaults(steps=25, guidance_scale=4.0),
    size_rule=MultipleOf(64),
    checkpoints={
        "prior": Checkpoint("kandinsky-community/kandinsky-2-1-prior"),
        "text2img": Checkpoint("kandinsky-community/kandinsky-2-1"),
        "inpaint": Checkpoint("kandinsky-community/kandinsky-2-1-inpaint"),
    },
    pipelines="generation.families.k21.pipelines",
    tiny="generation.families.k21.tiny",
    step_seconds=0.08,
)
