"""The composition root: builds the engine and services from settings, nothing at import."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from generation.registry import ModelRegistry
    from generation.service import GenerationService


def build_registry(settings: Settings) -> ModelRegistry:
    """Return the model registry: hub defaults, or the file under `KBOT_MODELS`."""
    from generation.registry import Checkpoint, ModelRegistry

    registry = ModelRegistry.from_file(settings.models) if settings.models else ModelRegistry()
    if settings.depth_model:
        registry = dataclasses.replace(registry, depth_estimator=Checkpoint(settings.depth_model))
    return registry


def quiet_libraries() -> None:
    """Keep diffusers and transformers to errors only, without loading progress bars."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    for library in (diffusers_logging, transformers_logging):
        library.set_verbosity_error()
        library.disable_progress_bar()


def build_generation(settings: Settings) -> GenerationService:
    """Return a generation service with one pipeline cache (and thread) per device."""
    from generation.engine import EngineOptions, PipelineCache
    from generation.service import GenerationService, ImageCaps

    quiet_libraries()

    registry = build_registry(settings)
    caches = [
        PipelineCache(
            registry,
            EngineOptions(
                device=device,
                fp16=settings.fp16,
                cpu_offload=settings.cpu_offload,
                compile=settings.compile,
                xformers=settings.xformers,
            ),
        )
        for device in settings.device
    ]
    caps = ImageCaps(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_upload_pixels)
    return GenerationService(caches, limits=settings.limits, caps=caps)
