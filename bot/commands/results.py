"""Commands on results: /reroll, /variations, /init, /history and /show."""

from __future__ import annotations

from bot.chat.labels import MAX_ID, image_label, parse_label, stored_id
from bot.commands.again import again_line
from bot.commands.context import Context
from bot.commands.generate import DEFAULT_STRENGTH
from bot.commands.intake import submit
from bot.commands.pictures import find_picture, named_image, read_picture, refuse_video, shown
from bot.commands.router import Route, Router
from generation.request import Task
from storage.records import ImageFlag, ImageRecord, JobRecord


def _id_word(ctx: Context) -> str:
    words = ctx.command.text.split()
    return words[0] if words else ""


async def _image(ctx: Context, name: str) -> ImageRecord | None:
    """The caller's image the command names (or replies to, or a button carries); else an
    answer and None.

    Someone else's image gets the same answer as one that does not exist.
    """
    word = _id_word(ctx)
    command = ctx.command
    if not word and command.reply_image_id is None and not command.reply_label:
        await ctx.reply("need_id", command=name)
        return None
    return await named_image(ctx, word)


async def _job_of(ctx: Context, image: ImageRecord | None) -> JobRecord | None:
    """The job that made `image` (None, and an answer, when there is none)."""
    job = await ctx.store.get_job(image.job_id) if image is not None else None
    if image is not None and job is None:
        await ctx.reply("not_found_image", id=image_label(image))
    return job


async def reroll(ctx: Context) -> None:
    """Run an image's recipe again with a new seed."""
    job = await _job_of(ctx, await _image(ctx, "reroll"))
    if job is not None:
        await submit(ctx, job.request.replace(seed=None, placement=()))


async def variations(ctx: Context) -> None:
    """Variations of a result: image to image from it, or, with a family that changes
    pictures only by instruction (Kandinsky 5), an edit of it whose instruction is its prompt."""
    image = await _image(ctx, "variations")
    job = await _job_of(ctx, image)
    if image is None or job is None:
        return
    request = job.request
    prompt = (
        request.prompt or ", ".join(item.text for item in request.mix if item.text) or "variation"
    )
    spec = ctx.config.registry.get(request.model)
    by_instruction = not spec.supports(Task.IMG2IMG) and spec.supports(Task.EDIT)
    picture = await read_picture(ctx, image)
    variation = request.replace(
        task=Task.EDIT if by_instruction else Task.IMG2IMG,
        prompt=prompt,
        init_image=picture,
        mask=None,
        depth_hint=None,
        mix=(),
        depth_img2img=False,
        seed=None,
        placement=(),
    )
    await submit(ctx, variation if by_instruction else variation.replace(strength=DEFAULT_STRENGTH))


async def use_as_init(ctx: Context) -> None:
    """Use a result, a picture a job was given (`12.in`), or any picture sent with the
    command, as the next command's picture."""
    word = _id_word(ctx)
    label = parse_label(word)
    if label is not None and label.given:
        given = await find_picture(ctx, word)
        if given is None:
            await ctx.reply("not_found_image", id=shown(word))
            return
        await ctx.store.set_pending_init(ctx.user.id, picture=given)
        await ctx.reply("init_set_picture")
        return
    pictures = ctx.command.pictures()
    if not word and ctx.command.reply_image_id is None and pictures:
        await ctx.store.set_pending_init(ctx.user.id, picture=pictures[0].data)
        await ctx.reply("init_set_picture")
        return
    image = await _image(ctx, "init")
    if image is not None:
        refuse_video(ctx, image)
        await ctx.store.set_pending_init(ctx.user.id, image_id=image.id)
        await ctx.reply("init_set", id=image_label(image))


async def history(ctx: Context) -> None:
    """List the user's images, a page at a time."""
    word = ctx.command.text.strip()
    page = 1
    if word.isascii() and word.isdigit() and word.strip("0"):
        page = stored_id(word) or MAX_ID  # a page no one has: past the last, like any after it
    images, pages = await ctx.store.history(ctx.user.id, page)
    if not images and pages:
        await ctx.reply("history_no_page", page=shown(word), pages=pages)
        return
    if not images:
        await ctx.reply("history_empty")
        return
    lines = [ctx.t("history_header", page=page, pages=pages)]
    for image in images:
        recipe = image.recipe
        line = ctx.t(
            "history_line",
            id=image_label(image),
            prompt=_short(recipe.get("prompt") or "mix"),
            seed=recipe.get("seed"),
            model=recipe.get("model"),
        )
        flagged = image.flag == ImageFlag.FLAGGED
        lines.append(line + ctx.t("history_flagged") if flagged else line)
    await ctx.reply_text("\n".join(lines))


def _short(prompt: str, limit: int = 60) -> str:
    return prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"


async def show(ctx: Context) -> None:
    """Show an image's recipe and the command that makes it again."""
    image = await _image(ctx, "show")
    job = await _job_of(ctx, image)
    if image is None or job is None:
        return
    r = image.recipe
    await ctx.reply(
        "recipe",
        id=image_label(image),
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
        again=await again_line(ctx, image, job),
    )


def router() -> Router:
    """The commands that act on stored results."""
    return Router(
        Route("reroll", reroll, aliases=("again",)),
        Route("variations", variations, aliases=("vary", "v")),
        Route("init", use_as_init, aliases=("use",)),
        Route("history", history, aliases=("h",)),
        Route("show", show, aliases=("recipe",)),
    )
