"""Commands on results: /reroll, /variations, /init, /history and /show."""

from __future__ import annotations

from bot.chat.labels import MAX_ID, image_label, parse_label, stored_id
from bot.commands.again import again_line
from bot.commands.context import Context
from bot.commands.generate import DEFAULT_STRENGTH
from bot.commands.intake import submit
from bot.commands.pictures import find_image, find_picture, shown
from bot.commands.router import Route, Router
from generation.request import Task
from storage.records import ImageRecord, JobRecord


def _id_word(ctx: Context) -> str:
    words = ctx.command.text.split()
    return words[0] if words else ""


async def _image(ctx: Context, name: str) -> ImageRecord | None:
    """The caller's image the command names (or replies to, or a button carries); else an
    answer and None.

    Someone else's image gets the same answer as one that does not exist.
    """
    word = _id_word(ctx)
    image_id = ctx.command.reply_image_id
    if not word and image_id is None:
        await ctx.reply("need_id", command=name)
        return None
    if word:
        image, named = await find_image(ctx, word), shown(word)
    else:
        assert image_id is not None
        image = await ctx.store.get_image(image_id)
        named = image_label(image) if image is not None else str(image_id)
        image = image if image is not None and ctx.owns(image.user_id) else None
    if image is None:
        await ctx.reply("not_found_image", id=named)
    return image


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
    """Image-to-image variations of a result."""
    image = await _image(ctx, "variations")
    job = await _job_of(ctx, image)
    if image is None or job is None:
        return
    request = job.request
    prompt = (
        request.prompt or ", ".join(item.text for item in request.mix if item.text) or "variation"
    )
    picture = await ctx.store.read_image(image)
    await submit(
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
            placement=(),
        ),
    )


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
        lines.append(
            ctx.t(
                "history_line",
                id=image_label(image),
                prompt=_short(recipe.get("prompt") or "mix"),
                seed=recipe.get("seed"),
                model=recipe.get("model"),
            )
        )
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
