"""The composition root: builds the engine, store, queue and bot from settings.

Nothing is built at import time; `running_bot` owns every resource and closes them in order
(stop intake, park the queue, stop the engine, close the database).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Container
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.app.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.chat.replier import Replier
    from bot.commands.dispatch import Bot
    from bot.jobs.port import Generator, JobEvents, JobQueue
    from generation.engine.checkpoints import ModelRegistry
    from generation.engine.service import GenerationService
    from generation.request import Family
    from storage.store import Store


def build_registry(settings: Settings) -> ModelRegistry:
    """Return the model registry: hub defaults, or the file under `KBOT_MODELS`."""
    from generation.engine.checkpoints import Checkpoint, ModelRegistry

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
    from generation.engine.cache import EngineOptions, PipelineCache
    from generation.engine.service import GenerationService, ImageCaps

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


class ServiceEngine:
    """Admin control over the generation service (models list, preload, unload)."""

    def __init__(self, service: GenerationService) -> None:
        self.service = service

    def loaded(self) -> list[str]:
        """Loaded pipelines on every device."""
        return sorted({name for cache in self.service.caches for name in cache.loaded()})

    async def preload(self, family: Family) -> None:
        """Load a family's text-to-image pipelines (off the event loop)."""
        await asyncio.to_thread(self.service.preload, family)

    async def unload(self, family: Family | None) -> int:
        """Drop pipelines on every device."""
        return sum(cache.unload(family) for cache in self.service.caches)


@dataclass(slots=True)
class App:
    """Everything `running_bot` built."""

    bot: Bot
    store: Store
    queue: JobQueue
    service: GenerationService
    repliers: dict[str, Replier]

    async def idle(self) -> None:
        """Wait until no job is queued or running."""
        await self.queue.wait_idle()


def build_queue(
    settings: Settings,
    store: Store,
    generator: Generator,
    events: JobEvents,
    platforms: Container[str],
    *,
    concurrency: int = 1,
) -> JobQueue:
    """The job queue `KBOT_QUEUE` names: embedded (`local`) or on workers (`procrastinate`).

    `platforms` are those whose users this process talks to (adapters add theirs later).
    """
    if settings.queue == "procrastinate":
        from bot.jobs.distributed import ProcrastinateQueue

        return ProcrastinateQueue(store, events, settings.database, platforms=platforms)
    from bot.jobs.local import LocalQueue
    from generation.engine.service import batch_key

    return LocalQueue(
        store,
        generator,
        events,
        platforms=platforms,
        concurrency=concurrency,
        max_batch=settings.max_batch,
        batch_key=batch_key,
    )


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[App]:
    """Build the whole bot; adapters register their repliers, then call `app.queue.start()`."""
    from bot.commands.dispatch import Bot, BotConfig
    from bot.jobs.notify import Notifier
    from storage.store import Store

    if settings.queue == "procrastinate" and not settings.database.startswith("postgresql"):
        raise SettingsError("KBOT_QUEUE=procrastinate needs a PostgreSQL KBOT_DATABASE_URL")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(
        settings.database, settings.data_dir, default_daily_limit=settings.daily_limit
    )
    service = build_generation(settings)
    repliers: dict[str, Replier] = {}
    notifier = Notifier(store, repliers, progress_interval=settings.progress_interval)
    queue = build_queue(
        settings, store, service, notifier, repliers, concurrency=len(service.caches)
    )
    config = BotConfig(
        admins=settings.admins,
        default_model=settings.default_model,
        default_size=settings.default_size,
        limits=settings.limits,
        queue_size=settings.queue_size,
        user_queue=settings.user_queue,
        families=tuple(build_registry(settings).families()),
        link_minutes=settings.link_minutes,
        max_upload_bytes=settings.max_upload_bytes,
        max_upload_pixels=settings.max_upload_pixels,
    )
    bot = Bot(
        store=store,
        queue=queue,
        notifier=notifier,
        prepare=service.prepare,
        engine=ServiceEngine(service),
        config=config,
        repliers=repliers,
    )
    try:
        yield App(bot, store, queue, service, repliers)
    finally:
        await queue.stop()
        await asyncio.to_thread(service.close)
        await store.close()
