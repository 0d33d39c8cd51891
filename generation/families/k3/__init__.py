"""Kandinsky 3, declared: one text-conditioned pipeline and no prior."""

from __future__ import annotations

from generation.families.spec import Checkpoint, FamilySpec, MultipleOf

SPEC = FamilySpec(
    name="3",
    title="Kandinsky 3",
    tasks={
        "text2img": True,
        "img2img": True,
        "inpaint": "k3_no_inpainting",
        "mix": "k3_no_mix",
        "depth": "depth_only_k22",
        "edit": "edit_elsewhere",
        "animate": "animate_only_5v",
    },
    steps=25,
    guidance_scale=3.0,
    prior=None,
    size_rule=MultipleOf(64),
    checkpoints={
        "text2img": Checkpoint("kandinsky-community/kandinsky-3", variant="fp16"),
    },
    pipelines="generation.families.k3.pipelines",
    tiny="generation.families.k3.tiny",
    step_seconds=0.25,
)
