"""User commands: each a small handler over the bot's context."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.command import Attachment
from bot.chat.grammar import ParsedText, format_options, parse_command_text
from bot.chat.mix import parse_mix
from bot.commands.dispatch import HANDLERS, Context, command
from bot.i18n.catalogue import CATALOGUE, normalise_language
from bot.jobs.notify import human_seconds
from generation.images import decode_image, has_transparency
from generation.request import (
    Family,
    GenerationRequest,
    MixItem,
    RequestError,
    Task,
    size_for_aspect,
)
from storage.records import ACTIVE, ImageRecord, JobStatus

DEFAULT_STRENGTH = 0.6


async def build_request(
    ctx: Context, task: Task, parsed: ParsedText, picture: bytes | None = None
) -> GenerationRequest:
    """A request from the command's options over the user's defaults over the bot's."""
    defaults = await ctx.store.get_settings(ctx.user.id)
    config = ctx.bot.config
    model = parsed.model or (Family(defaults.default_model) if defaults.default_model else None)
    side = config.default_size
    width, height = defaults.width or side, defaults.height or side
    if parsed.size:
        width, height = parsed.size
    elif parsed.aspect:
        width, height = size_for_aspect(*parsed.aspect, width * height, config.limits)
    elif picture is not None:
        size = decode_image(
            picture, max_bytes=config.max_upload_bytes, max_pixels=config.max_upload_pixels
        ).size
        width, height = size_for_aspect(*size, width * height, config.limits)
    given: dict[str, Any] = {
        key: value
        for key, value in parsed.given().items()
        if key not in ("model", "width", "height")
    }
    given.pop("depth_img2img", None)
    return GenerationRequest(
        task=task,
        model=model or config.default_model,
        prompt=parsed.prompt,
        width=width,
        height=height,
        steps=defaults.steps,
        negative_prompt=defaults.negative_prompt or "",
    ).replace(**given)


async def picture_for(ctx: Context) -> bytes | None:
    """The command's picture, the replied-to picture, or the image chosen with /init."""
    pictures = ctx.command.pictures()
    if pictures:
        return pictures[0].data
    chosen = ctx.bot.pending_init.pop(ctx.user.id, None)
    if isinstance(chosen, bytes):
        return chosen
    if chosen is not None:
        image = await ctx.store.get_image(chosen)
        if image is not None:
            return await ctx.store.read_image(image)
    return None


@command("imagine", "i", "draw", "t2i")
async def imagine(ctx: Context) -> None:
    """Draw a picture from a prompt."""
    parsed = parse_command_text(ctx.command.text)
    await ctx.bot.submit(ctx, await build_request(ctx, Task.TEXT2IMG, parsed))


async def picture_request(ctx: Context, task: Task) -> tuple[ParsedText, GenerationRequest] | None:
    """The options and a request starting from the command's picture (None: asked for one)."""
    parsed = parse_command_text(ctx.command.text)
    picture = await picture_for(ctx)
    if picture is None:
        await ctx.reply("need_picture", command=ctx.command.name)
        return None
    request = await build_request(ctx, task, parsed, picture)
    strength = parsed.strength if parsed.strength is not None else DEFAULT_STRENGTH
    return parsed, request.replace(init_image=picture, strength=strength)


@command("img2img", "redraw", "i2i")
async def img2img(ctx: Context) -> None:
    """Redraw an attached picture from a prompt."""
    prepared = await picture_request(ctx, Task.IMG2IMG)
    if prepared is not None:
        await ctx.bot.submit(ctx, prepared[1])


def _mask_source(pictures: tuple[Attachment, ...], reply: tuple[Attachment, ...]) -> bytes | None:
    if len(pictures) >= 2:
        return pictures[1].data
    if reply and pictures:
        return pictures[0].data
    return None


@command("inpaint", "repaint")
async def inpaint(ctx: Context) -> None:
    """Repaint the white part of a mask (or the transparent part of a PNG)."""
    parsed = parse_command_text(ctx.command.text)
    own, reply = ctx.command.attachments, ctx.command.reply_attachments
    picture = reply[0].data if reply and own else await picture_for(ctx)
    if picture is None:
        await ctx.reply("need_picture", command="inpaint")
        return
    mask = _mask_source(own, reply)
    if mask is None and has_transparency(picture):
        mask = picture
    if mask is None:
        await ctx.reply("need_mask")
        return
    request = await build_request(ctx, Task.INPAINT, parsed, picture)
    await ctx.bot.submit(ctx, request.replace(init_image=picture, mask=mask))


@command("mix", "blend")
async def mix(ctx: Context) -> None:
    """Blend texts and pictures with weights."""
    parsed = parse_command_text(ctx.command.text)
    pictures = ctx.command.pictures()
    items: list[MixItem] = []
    used: set[int] = set()
    for spec in parse_mix(parsed.prompt):
        if spec.picture is None:
            items.append(MixItem(spec.weight, text=spec.text))
            continue
        if spec.picture >= len(pictures):
            number = spec.picture + 1
            raise RequestError.of("mix", f"#{number}", "no_picture_number", number=number)
        used.add(spec.picture)
        items.append(MixItem(spec.weight, image=pictures[spec.picture].data))
    if not used:
        items += [MixItem(1.0, image=picture.data) for picture in pictures]
    request = await build_request(ctx, Task.MIX, dataclasses.replace(parsed, prompt=""))
    await ctx.bot.submit(ctx, request.replace(mix=tuple(items)))


@command("depth", "controlnet")
async def depth(ctx: Context) -> None:
    """Draw following the depth of an attached picture (Kandinsky 2.2 ControlNet)."""
    prepared = await picture_request(ctx, Task.DEPTH)
    if prepared is None:
        return
    parsed, request = prepared
    if parsed.model is None:
        request = request.replace(model=Family.K22)
    await ctx.bot.submit(ctx, request.replace(depth_img2img=parsed.init))


def _image_id(ctx: Context) -> int | None:
    word = ctx.command.text.strip().lstrip("#").split(" ")[0]
    if word.isdigit():
        return int(word)
    return ctx.command.reply_image_id


async def _image(ctx: Context, name: str) -> ImageRecord | None:
    image_id = _image_id(ctx)
    if image_id is None:
        await ctx.reply("need_id", command=name)
        return None
    image = await ctx.store.get_image(image_id)
    if image is None:
        await ctx.reply("not_found_image", id=image_id)
    return image


async def _source_request(ctx: Context, image: ImageRecord) -> GenerationRequest | None:
    job = await ctx.store.get_job(image.job_id)
    if job is None:
        await ctx.reply("not_found_image", id=image.id)
        return None
    return job.request


@command("reroll", "again")
async def reroll(ctx: Context) -> None:
    """Run an image's recipe again with a new seed."""
    image = await _image(ctx, "reroll")
    request = await _source_request(ctx, image) if image else None
    if request is not None:
        await ctx.bot.submit(ctx, request.replace(seed=None))


@command("variations", "vary", "v")
async def variations(ctx: Context) -> None:
    """Image-to-image variations of a result."""
    image = await _image(ctx, "variations")
    request = await _source_request(ctx, image) if image else None
    if image is None or request is None:
        return
    prompt = (
        request.prompt or ", ".join(item.text for item in request.mix if item.text) or "variation"
    )
    picture = await ctx.store.read_image(image)
    await ctx.bot.submit(
        ctx,
        request.replace(
            task=Task.IMG2IMG,
            prompt=prompt,
            init_image=picture,
            mask=None,
            depth_hint=None,
            mix=(),
            depth_img2img=False,
            seed=None,
            strength=DEFAULT_STRENGTH,
        ),
    )


@command("init", "use")
async def use_as_init(ctx: Context) -> None:
    """Use a result, or any picture sent with the command, as the next command's picture."""
    pictures = ctx.command.pictures()
    if _image_id(ctx) is None and pictures:
        ctx.bot.pending_init[ctx.user.id] = pictures[0].data
        await ctx.reply("init_set_picture")
        return
    image = await _image(ctx, "init")
    if image is not None:
        ctx.bot.pending_init[ctx.user.id] = image.id
        await ctx.reply("init_set", id=image.id)


@command("history", "h")
async def history(ctx: Context) -> None:
    """List the user's images, a page at a time."""
    word = ctx.command.text.strip()
    page = int(word) if word.isdigit() and int(word) > 0 else 1
    images, pages = await ctx.store.history(ctx.user.id, page)
    if not images:
        await ctx.reply("history_empty")
        return
    lines = [ctx.t("history_header", page=page, pages=pages)]
    for image in images:
        recipe = image.recipe
        lines.append(
            ctx.t(
                "history_line",
                id=image.id,
                prompt=_short(recipe.get("prompt") or "mix"),
                seed=recipe.get("seed"),
                model=recipe.get("model"),
            )
        )
    await ctx.reply_text("\n".join(lines))


def _short(prompt: str, limit: int = 60) -> str:
    return prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"


@command("show", "recipe")
async def show(ctx: Context) -> None:
    """Show an image's recipe and the command that makes it again."""
    image = await _image(ctx, "show")
    if image is None:
        return
    r = image.recipe
    size = f"{r.get('width')}x{r.get('height')}"
    again = parse_command_text(
        f"--model {r.get('model')} --size {size} --seed {r.get('seed')} --steps {r.get('steps')}"
    )
    await ctx.reply(
        "recipe",
        id=image.id,
        task=r.get("task"),
        model=r.get("model"),
        width=r.get("width"),
        height=r.get("height"),
        seed=r.get("seed"),
        steps=r.get("steps"),
        guidance=r.get("guidance_scale"),
        scheduler=r.get("scheduler"),
        prompt=r.get("prompt") or "-",
        negative=r.get("negative_prompt") or "-",
        again=f"{r.get('prompt') or ''} {format_options(again)}".strip(),
    )


@command("settings", "prefs")
async def settings(ctx: Context) -> None:
    """Show or change the user's defaults."""
    words = ctx.command.text.strip()
    if words.lower() == "reset":
        await ctx.store.update_settings(
            ctx.user.id,
            default_model=None,
            width=None,
            height=None,
            steps=None,
            negative_prompt=None,
        )
        await ctx.reply("settings_saved")
        return
    if words:
        parsed = parse_command_text(words)
        changes = _settings_changes(ctx, parsed)
        await ctx.store.update_settings(ctx.user.id, **changes)
        await ctx.reply("settings_saved")
    current = await ctx.store.get_settings(ctx.user.id)
    size = f"{current.width}x{current.height}" if current.width else ctx.t("default")
    await ctx.reply(
        "settings_show",
        model=current.default_model or ctx.bot.config.default_model,
        size=size,
        steps=current.steps or ctx.t("default"),
        negative=current.negative_prompt or ctx.t("none"),
        language=ctx.language,
    )


def _settings_changes(ctx: Context, parsed: ParsedText) -> dict[str, Any]:
    """Check the new defaults the way a request would, then return them."""
    changes: dict[str, Any] = {}
    probe = GenerationRequest(prompt="probe")
    if parsed.model:
        changes["default_model"] = str(parsed.model)
    if parsed.size or parsed.aspect:
        width, height = parsed.size or size_for_aspect(
            *parsed.aspect or (1, 1), ctx.bot.config.default_size**2, ctx.bot.config.limits
        )
        probe = probe.replace(width=width, height=height)
        changes.update(width=width, height=height)
    if parsed.steps is not None:
        probe = probe.replace(steps=parsed.steps)
        changes["steps"] = parsed.steps
    if parsed.negative_prompt is not None:
        probe = probe.replace(negative_prompt=parsed.negative_prompt)
        changes["negative_prompt"] = parsed.negative_prompt or None
    from generation.request import validate

    validate(probe, ctx.bot.config.limits)
    return changes


@command("quota", "limits")
async def quota(ctx: Context) -> None:
    """Show how many images are left today."""
    q = await ctx.store.quota(ctx.user.id)
    reset = human_seconds((q.reset_at - datetime.now(UTC)).total_seconds(), ctx.language)
    await ctx.reply(
        "quota_status",
        used=q.used_today,
        limit=q.daily_limit,
        extra=q.extra_credits,
        remaining=q.remaining,
        reset=reset,
    )


@command("queue", "q")
async def queue(ctx: Context) -> None:
    """Show where the user's jobs are."""
    jobs = await ctx.store.jobs(ACTIVE, ctx.user.id)
    if not jobs:
        await ctx.reply("queue_empty")
        return
    lines = []
    for job in jobs:
        if job.status is JobStatus.RUNNING:
            lines.append(ctx.t("queue_status_running", job=job.id))
            continue
        position = ctx.bot.queue.position(job.id) or "?"
        eta = human_seconds(ctx.bot.queue.eta(job.id), ctx.language)
        lines.append(ctx.t("queue_status_line", job=job.id, position=position, eta=eta))
    await ctx.reply_text("\n".join(lines))


@command("cancel", "stop")
async def cancel(ctx: Context) -> None:
    """Cancel one of the user's waiting jobs (the newest when no id is given)."""
    word = ctx.command.text.strip().lstrip("#")
    if word.isdigit():
        job = await ctx.store.get_job(int(word))
        if job is None or job.user_id != ctx.user.id:
            await ctx.reply("cancel_not_yours" if job else "not_found_job", job=word, id=word)
            return
    else:
        waiting = await ctx.store.jobs((JobStatus.QUEUED,), ctx.user.id)
        if not waiting:
            await ctx.reply("cancel_none")
            return
        job = waiting[-1]
    if job.status is not JobStatus.QUEUED:
        await ctx.reply("cancel_too_late", job=job.id)
        return
    if await ctx.bot.queue.cancel(job.id):
        await ctx.reply("cancelled", job=job.id)
    else:
        await ctx.reply("cancel_too_late", job=job.id)


@command("language", "lang")
async def language(ctx: Context) -> None:
    """Choose the language the bot speaks with the user."""
    code = ctx.command.text.strip().lower()
    if code not in CATALOGUE:
        await ctx.reply("language_unknown")
        return
    await ctx.store.update_settings(ctx.user.id, language=code)
    ctx.language = normalise_language(code)
    ctx.bot.notifier.languages[ctx.user.id] = ctx.language
    await ctx.reply("language_set")


LINK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing that reads as another character


@command("link")
async def link(ctx: Context) -> None:
    """Join this account with one on another platform: one quota, history and settings."""
    code = ctx.command.text.strip().upper().replace(" ", "")
    if not code:
        code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(8))
        minutes = ctx.bot.config.link_minutes
        expires = datetime.now(UTC) + timedelta(minutes=minutes)
        await ctx.store.create_link_code(ctx.user.id, code, expires)
        await ctx.reply("link_code", code=code, minutes=minutes)
        return
    command = ctx.command
    user = await ctx.store.redeem_link_code(
        code, command.platform, command.user_id, command.user_name
    )
    if user is None:
        await ctx.reply("link_bad")
        return
    ctx.bot.notifier.languages.pop(ctx.user.id, None)
    await ctx.reply("link_done", user=user.id)


@command("help", "start")
async def help_(ctx: Context) -> None:
    """Explain the commands, or one command with an example."""
    topic = ctx.command.text.strip().lstrip("/").lower()
    key = f"help_{topic}"
    from bot.i18n.catalogue import EN

    await ctx.reply(key if topic and key in EN else "help")


__all__ = ["HANDLERS"]
