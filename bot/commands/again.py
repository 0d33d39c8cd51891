"""The command that makes a stored image again, to the byte (/show's "Again:" line).

Every setting is written out, so the owner's defaults cannot change it: the command of the
image's task, the prompt (a mix's items), the model, size, seed, steps, guidance, the prior's
two, strength, negative prompt (`--neg ""` for none), scheduler, `--init` for depth as image
to image, `--batch` for an image made together with others, and a video's `--seconds`,
`--fps` and `--fast`. The pictures it started from
are named with `--from`: a stored image of the owner's with the same bytes by its label
(`--from 12`), else the picture the job was given (`--from 14.in`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from bot.chat.grammar import ParsedText, format_options, parse_command_text
from bot.chat.labels import format_label, image_label
from bot.commands.context import Context
from generation.placement import Placement
from generation.request import Task
from storage.records import ImageRecord, JobRecord

__all__ = ["TASK_COMMANDS", "again_line"]

TASK_COMMANDS: dict[Task, str] = {
    Task.TEXT2IMG: "imagine",
    Task.IMG2IMG: "img2img",
    Task.INPAINT: "inpaint",
    Task.MIX: "mix",
    Task.DEPTH: "depth",
    Task.EDIT: "edit",
    Task.ANIMATE: "animate",
}
"""The command that runs each task."""

_PICTURES = ("init_image", "mask")  # the pictures a command takes, in the order it takes them


async def again_line(ctx: Context, image: ImageRecord, job: JobRecord) -> str:
    """The command (with its slash) that makes `image`, made by `job`, again."""
    recipe = image.recipe
    task = Task(str(recipe.get("task") or job.request.task))
    labels = await _picture_labels(ctx, job)
    record = job.request.to_record()[0]
    pictures = [labels[record[name]] for name in _PICTURES if record.get(name) is not None]
    prompt = str(recipe.get("prompt") or "")
    if task is Task.MIX:
        prompt, pictures = _mix_items(record["mix"], labels)
    parsed = ParsedText(
        "",
        model=recipe.get("model"),
        size=(recipe["width"], recipe["height"]),
        seed=recipe.get("seed"),
        steps=recipe.get("steps"),
        guidance_scale=recipe.get("guidance_scale"),
        prior_guidance_scale=recipe.get("prior_guidance_scale"),
        prior_steps=recipe.get("prior_steps"),
        strength=recipe.get("strength"),
        negative_prompt=str(recipe.get("negative_prompt") or ""),
        scheduler=recipe.get("scheduler"),
        init=bool(recipe.get("depth_img2img")),
        pictures=tuple(pictures) or None,
        placement=Placement.of(recipe).entry() or None,
        seconds=recipe.get("seconds"),
        fps=recipe.get("fps"),
        fast=bool(recipe.get("fast")),
    )
    return f"/{TASK_COMMANDS[task]} {_arguments(prompt, parsed)}"


def _arguments(prompt: str, parsed: ParsedText) -> str:
    """The prompt and the options; the prompt first, unless it would then read differently
    (a quote in it that an option's quote would close)."""
    options = format_options(parsed)
    first = f"{prompt} {options}".strip()
    if parse_command_text(first) == dataclasses.replace(parsed, prompt=prompt):
        return first
    return f"{options} {prompt}".strip()


def _mix_items(items: list[dict[str, Any]], labels: list[str]) -> tuple[str, list[str]]:
    """A mix's items as typed (`a cat::0.3 | #1::0.7`) and the labels of its pictures."""
    written: list[str] = []
    pictures: list[str] = []
    for item in items:
        weight = repr(float(item["weight"]))
        if item.get("image") is None:
            written.append(f"{item['text']}::{weight}")
        else:
            pictures.append(labels[item["image"]])
            written.append(f"#{len(pictures)}::{weight}")
    return " | ".join(written), pictures


async def _picture_labels(ctx: Context, job: JobRecord) -> list[str]:
    """The label of each picture the job was given, in the order it keeps them: an owner's
    stored image with the same bytes, else the job's own (`14.in`, `14.in2`)."""
    given = job.request.to_record()[1]
    labels = []
    for position, data in enumerate(given):
        same = await ctx.store.find_image(job.user_id, hashlib.sha256(data).hexdigest())
        if same is not None:
            labels.append(image_label(same))
        else:
            labels.append(format_label(job.id, position, len(given), given=True))
    return labels
