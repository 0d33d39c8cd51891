"""The composition root: builds the engine, store, queue, outbox and bot from settings.

Nothing is built at import time; `running_bot` owns every resource and closes them in order
(stop intake, park the queue, stop sending, stop the engine, close the database).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Container
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.app.settings import Settings, SettingsError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.app.warming import WarmingEngine
    from bot.chat.menu import CommandInfo
    from bot.chat.replier import Replier
    from bot.commands.dispatch import Bot
    from bot.commands.router import Router
    from bot.control.port import EngineControl
    from bot.delivery.outbox import Outbox
    from bot.jobs.port import Generator, JobEvents, JobQueue
    from generation.engine.checkpoints import ModelRegistry
    from generation.engine.service import GenerationService
    from generation.families import Families
    from generation.intake import Intake
    from storage.store import Store


def build_registry(settings: Settings) -> ModelRegistry:
    """Return the model registry: hub defaults, or the file under `KBOT_MODELS`."""
    from generation.engine.checkpoints import ModelRegistry
    from generation.families import Checkpoint

    registry = ModelRegistry.from_file(settings.models) if settings.models else ModelRegistry()
    if settings.depth_model:
        registry = dataclasses.replace(registry, depth_estimator=Checkpoint(settings.depth_model))
    return registry


def build_families(settings: Settings) -> Families:
    """The family registry, with the sizes the configured checkpoints declare they make."""
    return build_registry(settings).sized()


def quiet_libraries() -> None:
    """Keep diffusers and transformers to errors only, without loading progress bars, and
    the hub client to errors (offline, a load would warn that the hub is out of reach)."""
    import diffusers.utils.logging as diffusers_logging
    import huggingface_hub.utils.logging as hub_logging
    import transformers.utils.logging as transformers_logging

    for library in (diffusers_logging, transformers_logging):
        library.set_verbosity_error()
        library.disable_progress_bar()
    hub_logging.set_verbosity_error()


def classifier_here(model: str) -> bool:
    """Whether the image check's classifier is at hand: a local folder, or downloaded into
    the model hub's cache (`kandinsky-bot download-models`)."""
    from pathlib import Path

    if Path(model).is_dir():
        return True
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model, "config.json")
    except ValueError:  # neither a folder nor a hub id
        return False
    return isinstance(found, str)


def safety_mode(settings: Settings) -> str:
    """What the content filter checks here: `KBOT_SAFETY`, or, unset, prompts and images
    when the classifier is at hand and prompts only when it is not."""
    if settings.safety is not None:
        return settings.safety
    return "both" if classifier_here(settings.safety_model) else "prompts"


def announce_safety(settings: Settings, mode: str) -> None:
    """The start-up line that says which checks are on."""
    checks = {
        "off": "off: prompts and results go unchecked",
        "prompts": "prompts are checked, results are not",
        "images": "results are checked, prompts are not",
        "both": "prompts and results are checked",
    }[mode]
    how = ""
    if mode in ("images", "both"):
        how = f" (classifier {settings.safety_model}, threshold {settings.safety_threshold})"
    elif settings.safety is None:
        how = (
            f" (the classifier {settings.safety_model} is not downloaded: "
            "`kandinsky-bot download-models` fetches it)"
        )
    log.info("content filter (KBOT_SAFETY=%s): %s%s", mode, checks, how)


def build_intake(settings: Settings) -> Intake:
    """Return the request check every process runs before a job is stored (no torch)."""
    from generation.intake import ImageCaps, Intake

    caps = ImageCaps(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_upload_pixels)
    return Intake(settings.limits, caps, build_families(settings))


def build_generation(settings: Settings) -> GenerationService:
    """Return a generation service with one pipeline cache (and thread) per device.

    SettingsError when `KBOT_QUANTIZE` asks for a backend that is not installed.
    """
    from generation.engine.cache import EngineOptions, PipelineCache
    from generation.engine.quantize import QuantizationUnavailable, backend_for
    from generation.engine.safety import SafetyCheck
    from generation.engine.service import GenerationService

    try:
        backend_for(settings.quantize)
    except QuantizationUnavailable as error:
        raise SettingsError(str(error)) from None
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
                quantize=settings.quantize,
            ),
        )
        for device in settings.device
    ]
    intake = build_intake(settings)
    checks_images = safety_mode(settings) in ("images", "both")
    safety = SafetyCheck(settings.safety_model, settings.safety_threshold)
    return GenerationService(
        caches,
        limits=intake.limits,
        caps=intake.caps,
        families=intake.families,
        safety=safety if checks_images else None,
    )


@dataclass(slots=True)
class App:
    """Everything `running_bot` built."""

    bot: Bot
    store: Store
    queue: JobQueue
    engine: WarmingEngine | None  # this process's engine; None where workers generate
    repliers: dict[str, Replier]
    outbox: Outbox

    async def idle(self) -> None:
        """Wait until no job is queued or running and every message is out."""
        await self.queue.wait_idle()
        await self.outbox.wait_idle()


def build_queue(
    settings: Settings,
    store: Store,
    generator: Generator | None,
    events: JobEvents,
    platforms: Container[str],
    *,
    concurrency: int = 1,
    device: Callable[[], str | None] | None = None,
) -> JobQueue:
    """The job queue `KBOT_QUEUE` names: embedded (`local`) or on workers (`procrastinate`).

    `platforms` are those whose users this process talks to (adapters add theirs later);
    `device` names the device the embedded queue's jobs run on, once it is known.
    """
    if settings.queue == "procrastinate":
        from bot.jobs.distributed import ProcrastinateQueue

        return ProcrastinateQueue(
            store,
            events,
            settings.database,
            platforms=platforms,
            families=build_families(settings),
        )
    from bot.jobs.local import LocalQueue
    from generation.batching import batch_key

    assert generator is not None, "the embedded queue generates in this process"
    return LocalQueue(
        store,
        generator,
        events,
        platforms=platforms,
        concurrency=concurrency,
        max_batch=settings.max_batch,
        batch_key=batch_key,
        batch_window=settings.batch_window,
        families=build_families(settings),
        device=device,
    )


def build_router() -> Router:
    """The bot's commands: every feature area's routes, in the order help lists them."""
    from bot.commands import account, admin, generate, help, moderation, queue, results
    from bot.commands.router import Router

    return Router().include(
        generate.router(),
        results.router(),
        queue.router(),
        account.router(),
        help.router(),
        admin.router(),
        moderation.router(),
    )


def command_menu() -> tuple[CommandInfo, ...]:
    """Every command as the platforms' menus list them, from the router's declarations."""
    return tuple(build_router().menu())


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[App]:
    """Build the whole bot; adapters register their repliers, then call `app.queue.start()`.

    With the embedded queue this process generates: it builds the generation service on a
    thread of its own while the adapters already serve, and admin commands act on it. With
    procrastinate the workers generate: no service, no torch here, and admin commands reach
    the workers through the database. The outbox's sender runs from the start and serves
    each platform once its adapter registers its replier; with the embedded queue no other
    process sends, so it takes over what a stopped run held.
    """
    from bot.commands.context import BotConfig, Services
    from bot.commands.dispatch import Bot
    from bot.delivery.outbox import Outbox
    from bot.delivery.sender import Sender
    from bot.jobs import spans
    from bot.jobs.notify import Notifier
    from storage.store import Store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    safety = safety_mode(settings)
    announce_safety(settings, safety)
    store = await Store.open(
        settings.database, settings.data_dir, default_daily_limit=settings.daily_limit
    )
    families = tuple(build_registry(settings).families())
    registry = build_families(settings)
    edit = any(registry.get(family).supports("edit") for family in families)
    repliers: dict[str, Replier] = {}
    sender = Sender(store, repliers, delivered=spans.delivered)
    outbox = Outbox(store, sender)
    notifier = Notifier(
        store, repliers, outbox, progress_interval=settings.progress_interval, edit=edit
    )
    warming: WarmingEngine | None = None
    engine: EngineControl
    try:
        await sender.start(takeover=settings.queue != "procrastinate")
        if settings.queue == "procrastinate":
            from bot.control.database import DatabaseControl
            from storage.workers import WorkerDirectory

            engine = DatabaseControl(WorkerDirectory(store.engine))
        else:
            from bot.app.warming import WarmingEngine

            warming = WarmingEngine(lambda: build_generation(settings), families)
            engine = warming
        concurrency = len(settings.device)  # one dispatcher per device
        queue = build_queue(
            settings,
            store,
            warming,
            notifier,
            repliers,
            concurrency=concurrency,
            device=None if warming is None else warming.device,
        )
        config = BotConfig(
            admins=settings.admins,
            default_model=settings.default_model,
            default_size=settings.default_size,
            default_steps=settings.default_steps,
            limits=settings.limits,
            queue_size=settings.queue_size,
            user_queue=settings.user_queue,
            video_cost=settings.video_cost,
            families=families,
            registry=registry,
            link_minutes=settings.link_minutes,
            max_upload_bytes=settings.max_upload_bytes,
            max_upload_pixels=settings.max_upload_pixels,
            safety=safety,
        )
        router = build_router()
        services = Services(
            store=store,
            queue=queue,
            notifier=notifier,
            outbox=outbox,
            engine=engine,
            config=config,
            repliers=repliers,
            prepare=build_intake(settings).prepare,
            menu=tuple(router.menu()),
        )
        bot = Bot(services, router)
        try:
            yield App(bot, store, queue, warming, repliers, outbox)
        finally:
            await queue.stop()
    finally:
        await sender.stop()
        if warming is not None:
            await asyncio.to_thread(warming.close)
        await store.close()
