"""Commands that make pictures: /imagine, /img2img, /inpaint, /mix and /depth."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.chat.command import Attachment
from bot.chat.grammar import ParsedText, parse_command_text
from bot.chat.mix import parse_mix
from bot.commands.context import Context
from bot.commands.intake import submit
from bot.commands.router import Route, Router
from generation.images import decode_image, has_transparency
from generation.request import (
    GenerationRequest,
    MixItem,
    RequestError,
    Task,
    refuse_unused,
    size_for_aspect,
)

DEFAULT_STRENGTH = 0.6


async def build_request(
    ctx: Context, task: Task, parsed: ParsedText, picture: bytes | None = None
) -> GenerationRequest:
    """A request from the command's options over the user's defaults over the bot's."""
    defaults = await ctx.store.get_settings(ctx.user.id)
    config = ctx.config
    model = parsed.model or defaults.default_model or config.default_model
    rule = config.registry.get(model).size_rule
    side = config.default_size
    width, height = defaults.width or side, defaults.height or side
    asked = parsed.dimensions(width * height, config.limits, rule=rule)
    if asked is None and picture is not None:
        size = decode_image(
            picture, max_bytes=config.max_upload_bytes, max_pixels=config.max_upload_pixels
        ).size
        asked = size_for_aspect(*size, width * height, config.limits, rule=rule)
    width, height = asked or rule.default_size(width, height)
    given: dict[str, Any] = {
        key: value
        for key, value in parsed.given().items()
        if key not in ("model", "width", "height", "depth_img2img")
    }
    request = GenerationRequest(
        task=task,
        model=model,
        prompt=parsed.prompt,
        width=width,
        height=height,
        steps=defaults.steps or config.default_steps,
        negative_prompt=defaults.negative_prompt or "",
    ).replace(**given)
    refuse_unused(request, given)
    return request


async def picture_for(ctx: Context) -> bytes | None:
    """The command's picture, the replied-to picture, or the image chosen with /init."""
    pictures = ctx.command.pictures()
    if pictures:
        return pictures[0].data
    chosen = await ctx.store.take_pending_init(ctx.user.id)
    if isinstance(chosen, bytes):
        return chosen
    if chosen is not None:
        image = await ctx.store.get_image(chosen)
        if image is not None:
            return await ctx.store.read_image(image)
    return None


async def imagine(ctx: Context) -> None:
    """Draw a picture from a prompt."""
    parsed = parse_command_text(ctx.command.text)
    await submit(ctx, await build_request(ctx, Task.TEXT2IMG, parsed))


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


async def img2img(ctx: Context) -> None:
    """Redraw an attached picture from a prompt."""
    prepared = await picture_request(ctx, Task.IMG2IMG)
    if prepared is not None:
        await submit(ctx, prepared[1])


def _mask_source(pictures: tuple[Attachment, ...], reply: tuple[Attachment, ...]) -> bytes | None:
    if len(pictures) >= 2:
        return pictures[1].data
    if reply and pictures:
        return pictures[0].data
    return None


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
    await submit(ctx, request.replace(init_image=picture, mask=mask))


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
    await submit(ctx, request.replace(mix=tuple(items)))


async def depth(ctx: Context) -> None:
    """Draw following the depth of an attached picture (Kandinsky 2.2 ControlNet)."""
    prepared = await picture_request(ctx, Task.DEPTH)
    if prepared is None:
        return
    parsed, request = prepared
    if parsed.model is None:
        request = request.replace(model=ctx.config.registry.for_task(Task.DEPTH, request.model))
    await submit(ctx, request.replace(depth_img2img=parsed.init))


def router() -> Router:
    """The picture-making commands."""
    return Router(
        Route("imagine", imagine, aliases=("i", "draw", "t2i"), private_default=True),
        Route("img2img", img2img, aliases=("redraw", "i2i"), pictures=True),
        Route("inpaint", inpaint, aliases=("repaint",), pictures=True),
        Route("mix", mix, aliases=("blend",), pictures=True),
        Route("depth", depth, aliases=("controlnet",), pictures=True),
    )
