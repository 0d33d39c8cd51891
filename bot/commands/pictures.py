"""Pictures named by the numbers people see (`bot.chat.labels`), for their owner only.

`find_image` turns a label (`12`, `12.2`) into one of the caller's stored images, and
`named_image` finds the image a command names, replies to or a button carries, answering
when there is none;
`find_picture` turns a label into picture bytes, a stored image or a picture a job was given
(`12.in`), as `--from` names them (`bot.commands.checks.take_pictures`). Someone else's
picture is treated as one that does not exist; admins may use any. A stored video is no
picture to start from: `read_picture`, `refuse_video` and `refuse_replied_video` refuse it
with a sentence (a RequestError, so nothing is charged).
"""

from __future__ import annotations

from bot.chat.labels import image_label, parse_label
from bot.commands.context import Context
from generation.request import RequestError
from storage.records import ImageRecord

__all__ = [
    "find_image",
    "find_picture",
    "named_image",
    "read_picture",
    "refuse_replied_video",
    "refuse_video",
    "shown",
]


def shown(word: str) -> str:
    """A label the user typed, as an answer repeats it (short, without its `#`)."""
    return word.strip().removeprefix("#")[:24]


async def find_image(ctx: Context, word: str) -> ImageRecord | None:
    """The stored image `word` names, if the caller may use it; else None."""
    label = parse_label(word)
    if label is None or label.given:
        return None
    image = await ctx.store.job_image(label.job, label.index or 0)
    return image if image is not None and ctx.owns(image.user_id) else None


async def find_picture(ctx: Context, word: str) -> bytes | None:
    """The picture `word` names (a stored image, or one a job was given), if the caller may
    use it; else None."""
    label = parse_label(word)
    if label is None:
        return None
    if not label.given:
        image = await find_image(ctx, word)
        return None if image is None else await read_picture(ctx, image)
    job = await ctx.store.get_job(label.job)
    if job is None or not ctx.owns(job.user_id):
        return None
    given = job.request.to_record()[1]
    index = label.index or 0
    return given[index] if index < len(given) else None


async def named_image(ctx: Context, word: str | None) -> ImageRecord | None:
    """The caller's image that `word` names, or else the one the command replies to (a
    button's or a remembered result's stored id, or the number a replied-to message shows);
    None, answered with "no such image", when there is none the caller may use."""
    command = ctx.command
    word = word or command.reply_label
    if word:
        image, named = await find_image(ctx, word), shown(word)
    elif command.reply_image_id is not None:
        image = await ctx.store.get_image(command.reply_image_id)
        named = image_label(image) if image is not None else str(command.reply_image_id)
        image = image if image is not None and ctx.owns(image.user_id) else None
    else:
        return None
    if image is None:
        await ctx.reply("not_found_image", id=named)
    return image


def refuse_video(ctx: Context, image: ImageRecord) -> None:
    """Refuse a stored video as the picture the command starts from."""
    if image.is_video:
        label = image_label(image)
        raise RequestError.of(
            "image", label, "video_not_picture", id=label, command=ctx.command.name
        )


async def read_picture(ctx: Context, image: ImageRecord) -> bytes:
    """The bytes of a stored image the command starts from (a video is refused)."""
    refuse_video(ctx, image)
    return await ctx.store.read_image(image)


async def refuse_replied_video(ctx: Context) -> None:
    """Refuse a command without pictures of its own that replies to one of the caller's
    videos (its message carries no picture to take, and the video is none)."""
    command = ctx.command
    if command.pictures():
        return
    if command.reply_image_id is not None:
        image = await ctx.store.get_image(command.reply_image_id)
    elif command.reply_label:
        image = await find_image(ctx, command.reply_label)
    else:
        return
    if image is not None and ctx.owns(image.user_id):
        refuse_video(ctx, image)
