"""Commands on results: /reroll, /variations, /init, /history and /show."""

from __future__ import annotations

from bot.chat.grammar import format_options, parse_command_text
from bot.commands.context import MAX_ID, Context, stored_id
from bot.commands.generate import DEFAULT_STRENGTH
from bot.commands.intake import submit
from bot.commands.router import Route, Router
from generation.request import GenerationRequest, Task
from storage.records import ImageRecord


def _id_word(ctx: Context) -> str:
    words = ctx.command.text.split()
    return words[0] if words else ""


async def _image(ctx: Context, name: str) -> ImageRecord | None:
    """The caller's image the command names (or replies to); else an answer and None.

    Someone else's image gets the same answer as one that does not exist.
    """
    word = _id_word(ctx)
    image_id = stored_id(word) if word else ctx.command.reply_image_id
    if not word and image_id is None:
        await ctx.reply("need_id", command=name)
        return None
    shown = word.removeprefix("#")[:24] or image_id
    if image_id is None:
        await ctx.reply("not_found_image", id=shown)
        return None
    return await ctx.owned_image(image_id, shown)


async def _source_request(ctx: Context, image: ImageRecord) -> GenerationRequest | None:
    job = await ctx.store.get_job(image.job_id)
    if job is None:
        await ctx.reply("not_found_image", id=image.id)
        return None
    return job.request


async def reroll(ctx: Context) -> None:
    """Run an image's recipe again with a new seed."""
    image = await _image(ctx, "reroll")
    request = await _source_request(ctx, image) if image else None
    if request is not None:
        await submit(ctx, request.replace(seed=None))


async def variations(ctx: Context) -> None:
    """Variations of a result: image to image from it, or, with a family that changes
    pictures only by instruction (Kandinsky 5), an edit of it whose instruction is its prompt."""
    image = await _image(ctx, "variations")
    request = await _source_request(ctx, image) if image else None
    if image is None or request is None:
        return
    prompt = (
        request.prompt or ", ".join(item.text for item in request.mix if item.text) or "variation"
    )
    spec = ctx.config.registry.get(request.model)
    by_instruction = not spec.supports(Task.IMG2IMG) and spec.supports(Task.EDIT)
    picture = await ctx.store.read_image(image)
    variation = request.replace(
        task=Task.EDIT if by_instruction else Task.IMG2IMG,
        prompt=prompt,
        init_image=picture,
        mask=None,
        depth_hint=None,
        mix=(),
        depth_img2img=False,
        seed=None,
    )
    await submit(ctx, variation if by_instruction else variation.replace(strength=DEFAULT_STRENGTH))


async def use_as_init(ctx: Context) -> None:
    """Use a result, or any picture sent with the command, as the next command's picture."""
    pictures = ctx.command.pictures()
    if not _id_word(ctx) and ctx.command.reply_image_id is None and pictures:
        await ctx.store.set_pending_init(ctx.user.id, picture=pictures[0].data)
        await ctx.reply("init_set_picture")
        return
    image = await _image(ctx, "init")
    if image is not None:
        await ctx.store.set_pending_init(ctx.user.id, image_id=image.id)
        await ctx.reply("init_set", id=image.id)


async def history(ctx: Context) -> None:
    """List the user's images, a page at a time."""
    word = ctx.command.text.strip()
    page = 1
    if word.isascii() and word.isdigit() and word.strip("0"):
        page = stored_id(word) or MAX_ID  # a page no one has: past the last, like any after it
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


def router() -> Router:
    """The commands that act on stored results."""
    return Router(
        Route("reroll", reroll, aliases=("again",)),
        Route("variations", variations, aliases=("vary", "v")),
        Route("init", use_as_init, aliases=("use",)),
        Route("history", history, aliases=("h",)),
        Route("show", show, aliases=("recipe",)),
    )
