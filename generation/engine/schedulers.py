"""Scheduler choice: a fresh scheduler per call, built from the checkpoint's own config."""

from __future__ import annotations

from typing import Any

from generation.engine.cache import diffusers_class

# Kandinsky pipelines never call `scale_model_input`, so only schedulers that need no
# input scaling and take the pipelines' `generator` in `step` are offered (Euler and
# Heun would silently make noise; UniPC and DEIS refuse the generator).
SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "dpm++2s": "DPMSolverSinglestepScheduler",
}


def with_scheduler(pipe: Any, name: str) -> Any:
    """Return a per-call pipeline sharing every weight of `pipe`, with a fresh scheduler.

    "default" keeps the checkpoint's scheduler class. Schedulers hold per-call state and
    are not thread-safe, so every call gets its own; the cached pipeline is not changed.
    """
    config = pipe.scheduler.config
    cls = type(pipe.scheduler) if name == "default" else diffusers_class(SCHEDULER_CLASSES[name])
    scheduler = cls.from_config(config)
    fresh = type(pipe)(**{**pipe.components, "scheduler": scheduler})
    fresh.set_progress_bar_config(disable=True)
    processor: Any = getattr(fresh, "image_processor", None)
    if "do_resize" in getattr(processor, "config", {}):
        # Pictures arrive already fitted to the request's size (generation.images.fit).
        # The Kandinsky img2img pipelines pass (width, height) where the processor expects
        # (height, width), so letting it resize would transpose non-square pictures.
        fresh.image_processor = type(processor)(**{**processor.config, "do_resize": False})
    return fresh
