"""Kandinsky 2.2, declared: a prior, then a decoder on image embeddings; depth ControlNet."""

from __future__ import annotations

from generation.families.spec import Checkpoint, FamilySpec, MultipleOf, PriorDefaults

SPEC = FamilySpec(
    name="2.2",
    title="Kandinsky 2.2",
    tasks={
        "text2img": True,
        "img2img": True,
        "inpaint": True,
        "mix": True,
        "depth": True,
        "edit": "edit_elsewhere",
        "animate": "animate_only_5v",
    },
    steps=50,
    guidance_scale=4.0,
    prior=PriorDefaults(steps=25, guidance_scale=4.0),
    size_rule=MultipleOf(64),
    checkpoints={
        "prior": Checkpoint("kandinsky-community/kandinsky-2-2-prior"),
        "text2img": Checkpoint("kandinsky-community/kandinsky-2-2-decoder"),
        "inpaint": Checkpoint("kandinsky-community/kandinsky-2-2-decoder-inpaint"),
        "controlnet_depth": Checkpoint("kandinsky-community/kandinsky-2-2-controlnet-depth"),
    },
    pipelines="generation.families.k22.pipelines",
    tiny="generation.families.k22.tiny",
    step_seconds=0.08,
)
