"""Kandinsky 5, declared: a diffusion transformer for text to image, and instruction editing.

It makes only the sizes it was trained on, runs with its own flow-matching scheduler, and its
requests never share a pipeline call: the pipelines do not mask the padding between prompts
of different lengths (so a shared call would change a request's pixels), and editing cannot
batch several prompts over one picture.
"""

from __future__ import annotations

from generation.families.spec import Checkpoint, FamilySpec, SizeList

SIZES = SizeList(
    (
        (1024, 1024),
        (640, 1408),
        (1408, 640),
        (768, 1280),
        (1280, 768),
        (896, 1152),
        (1152, 896),
    )
)
"""The (width, height) sizes the Kandinsky 5 image models were trained on."""

SPEC = FamilySpec(
    name="5",
    title="Kandinsky 5",
    tasks={
        "text2img": True,
        "img2img": "k5_use_edit",
        "inpaint": "k5_no_inpainting",
        "mix": "k5_no_mix",
        "depth": "depth_only_k22",
        "edit": True,
        "animate": "animate_only_5v",
    },
    steps=50,
    guidance_scale=3.5,
    prior=None,
    size_rule=SIZES,
    checkpoints={
        "text2img": Checkpoint("kandinskylab/Kandinsky-5.0-T2I-Lite-sft-Diffusers"),
        "edit": Checkpoint("kandinskylab/Kandinsky-5.0-I2I-Lite-sft-Diffusers"),
    },
    pipelines="generation.families.k5.pipelines",
    tiny="generation.families.k5.tiny",
    step_seconds=0.5,
    schedulers=("default",),
    batches=False,
)
