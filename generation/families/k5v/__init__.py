"""Kandinsky 5 Video, declared: text to video, and a picture set in motion.

The Lite text-to-video model (2B) has a checkpoint for each length (5 s and 10 s) and a
distilled 16-step variant of each (`--fast`); image to video is the Pro model. Each is a
checkpoint role of this family (`VideoRule.role`), so an operator's registry file may name
other ones (the `nocfg` or `pretrain` variants, say). It makes only the sizes it was trained
on, and its requests never share a pipeline call.
"""

from __future__ import annotations

from generation.families.spec import Checkpoint, FamilySpec, SizeList, VideoRule

_HUB = "kandinskylab/Kandinsky-5.0-{}-Diffusers"

SPEC = FamilySpec(
    name="5v",
    title="Kandinsky 5 Video",
    tasks={
        "text2img": "video_only",
        "img2img": "video_only",
        "inpaint": "video_only",
        "mix": "video_only",
        "depth": "video_only",
        "edit": "video_only",
        "animate": True,
    },
    steps=50,
    guidance_scale=5.0,
    prior=None,
    size_rule=SizeList(((768, 512), (512, 768), (512, 512))),
    checkpoints={
        "text2video-5s": Checkpoint(_HUB.format("T2V-Lite-sft-5s")),
        "text2video-10s": Checkpoint(_HUB.format("T2V-Lite-sft-10s")),
        "text2video-fast-5s": Checkpoint(_HUB.format("T2V-Lite-distilled16steps-5s")),
        "text2video-fast-10s": Checkpoint(_HUB.format("T2V-Lite-distilled16steps-10s")),
        "image2video-5s": Checkpoint(_HUB.format("I2V-Pro-sft-5s")),
    },
    pipelines="generation.families.k5v.pipelines",
    tiny="generation.families.k5v.tiny",
    schedulers=("default",),
    batches=False,
    step_seconds=2.0,
    video=VideoRule(),
)
