"""Commands that make pictures: /imagine, /img2img, /inpaint, /mix, /depth and /edit; and
/animate, which makes a video."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.chat.command import Attachment, edit_question
from bot.chat.grammar import ParsedText, parse_command_text
from bot.chat.labels import image_label, looks_like_label
from bot.chat.mix import parse_mix
from bot.commands.context import Context
from bot.commands.intake import submit
from bot.commands.pictures import (
    named_image,
    read_picture,
    refuse_replied_video,
    refuse_video,
)
from bot.commands.router import Route, Router
from generation.images import decode_image, has_transparency
from generation.request import (
    GenerationRequest,
    MixItem,
    RequestError,
    Task,
    refuse_unused,
)
from generation.sizes import size_for_aspect

DEFAULT_STRENGTH = 0.6
FINDS_ITS_FAMILY = (Task.DEPTH, Task.EDIT, Task.ANIMATE)
"""Tasks that, without `--model`, go to a family that runs them (one family runs each)."""


async def build_request(
    ctx: Context, task: Task, parsed: ParsedText, picture: bytes | None = None
) -> GenerationRequest:
    """A request from the command's options over the user's defaults over the bot's.

    Without `--model`, a task the default family does not run (depth, edit, animate) goes to
    the first family that runs it.
    """
    defaults = await ctx.settings()
    config = ctx.config
    model = parsed.model or defaults.default_model or config.default_model
    if parsed.model is None and task in FINDS_ITS_FAMILY:
        model = config.registry.for_task(task, model)
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
    """The command's picture, the replied-to picture, or the image chosen with /init (a
    video replied to is refused)."""
    pictures = ctx.command.pictures()
    if pictures:
        return pictures[0].data
    await refuse_replied_video(ctx)
    chosen = await ctx.store.take_pending_init(ctx.user.id)
    if isinstance(chosen, bytes):
        return chosen
    if chosen is not None:
        image = await ctx.store.get_image(chosen)
        if image is not None:
            return await read_picture(ctx, image)
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
    await refuse_replied_video(ctx)
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
    await submit(ctx, request.replace(depth_img2img=parsed.init))


def _image_word(text: str) -> tuple[str | None, str]:
    """The word naming the picture an /edit changes (`#12.2 make it night`, or `12` alone),
    if the text starts with one, and the rest."""
    first, rest = [*text.split(maxsplit=1), "", ""][:2]
    if looks_like_label(first) and (first.startswith("#") or not rest):
        return first, rest
    return None, text


async def edit(ctx: Context) -> None:
    """Change a picture as an instruction says: the command's picture, the result it replies
    to (or names), the picture it replies to, or the one chosen with /init.

    Given a stored image and no instruction, ask for one: the answer is a reply to the
    question, which names the picture (`edit_question`).
    """
    command = ctx.command
    word, words = _image_word(command.text)
    parsed = parse_command_text(words)
    names_one = word is not None or command.reply_image_id is not None or command.reply_label
    if not parsed.prompt.strip():
        if command.attachments or not names_one:
            pictures = command.pictures()
            await ctx.reply("edit_need_instruction" if pictures else "edit_need_picture")
            return
        image = await named_image(ctx, word)
        if image is not None:
            refuse_video(ctx, image)
            await ctx.ask("edit_ask", mark=edit_question(image_label(image)))
        return
    if not command.attachments and names_one:
        image = await named_image(ctx, word)
        if image is None:
            return
        picture: bytes | None = await read_picture(ctx, image)
    else:
        picture = await picture_for(ctx)
    if picture is None:
        await ctx.reply("edit_need_picture")
        return
    request = await build_request(ctx, Task.EDIT, parsed, picture)
    await submit(ctx, request.replace(init_image=picture))


async def animate(ctx: Context) -> None:
    """Make a video from a prompt, or set a picture in motion: the command's picture, the
    one it replies to, one `--from` names, or the one chosen with /init."""
    parsed = parse_command_text(ctx.command.text)
    picture = await picture_for(ctx)
    request = await build_request(ctx, Task.ANIMATE, parsed, picture)
    await submit(ctx, request if picture is None else request.replace(init_image=picture))


def router() -> Router:
    """The picture-making commands."""
    return Router(
        Route("imagine", imagine, aliases=("i", "draw", "t2i"), private_default=True),
        Route("img2img", img2img, aliases=("redraw", "i2i"), pictures=True),
        Route("inpaint", inpaint, aliases=("repaint",), pictures=True),
        Route("mix", mix, aliases=("blend",), pictures=True),
        Route("depth", depth, aliases=("controlnet",), pictures=True),
        Route("edit", edit, pictures=True),
        Route("animate", animate, aliases=("video", "i2v", "t2v"), pictures=True),
    )
