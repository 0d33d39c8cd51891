"""Tells users what happens to their jobs, through their platform's replier.

`Notifier` implements the port's `JobEvents`; the lifecycle's `Teller` decides when (and
that a job's end is told once).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.chat.command import EDIT_MARK, Action, Button, Destination, OutImage
from bot.chat.present import step_bar
from bot.chat.replier import ProgressRef, Replier
from bot.chat.throttle import Throttle
from bot.i18n.catalogue import describe_reason, text
from storage.records import ImageRecord, JobRecord
from storage.store import Store

log = logging.getLogger(__name__)


def human_seconds(seconds: float | None, language: str | None = None) -> str:
    """A rough duration in `language`: `12 s`, `3 min`, `2 h` in English."""
    if seconds is None:
        return "?"
    if seconds < 90:
        return text(language, "duration_seconds", n=max(1, round(seconds)))
    if seconds < 90 * 60:
        return text(language, "duration_minutes", n=round(seconds / 60))
    return text(language, "duration_hours", n=round(seconds / 3600))


def result_buttons(images: list[ImageRecord], *, edit: bool = False) -> list[Button]:
    """Reroll and recipe for the job; variations and use-as-init for each image, and Edit
    (asks what to change) when `edit`."""
    first = images[0].id
    buttons = [Button(Action.REROLL, first, "🔄"), Button(Action.RECIPE, first, "ℹ️")]
    for number, image in enumerate(images, start=1):
        suffix = f" {number}" if len(images) > 1 else ""
        buttons.append(Button(Action.VARIATIONS, image.id, f"V{suffix}".strip()))
        buttons.append(Button(Action.USE_AS_INIT, image.id, f"⤴{suffix}"))
        if edit:
            buttons.append(Button(Action.EDIT, image.id, f"{EDIT_MARK}{suffix}"))
    return buttons


class Notifier:
    """Implements the queue's job events by talking to users."""

    def __init__(
        self,
        store: Store,
        repliers: dict[str, Replier],
        *,
        progress_interval: float = 1.0,
        edit: bool = False,
    ) -> None:
        """`edit`: results get an Edit button (a family that edits by instruction is here)."""
        self.store = store
        self.repliers = repliers
        self.edit = edit
        self._steps = Throttle(progress_interval)  # per job; the last step always goes
        self._refs: dict[int, ProgressRef] = {}

    def remember(self, job_id: int, ref: ProgressRef) -> None:
        """Note the progress message of a job just queued."""
        self._refs[job_id] = ref

    def _replier(self, job: JobRecord) -> tuple[Replier, Destination] | None:
        destination = Destination.from_dict(job.destination)
        replier = self.repliers.get(destination.platform)
        if replier is None:
            log.warning(
                "no %s adapter running; job #%s gets no message", destination.platform, job.id
            )
            return None
        return replier, destination

    async def _lang(self, job: JobRecord) -> str | None:
        """The language the job's owner chose when it was queued (else theirs now)."""
        chosen = Destination.from_dict(job.destination).extra.get("language")
        if chosen:
            return chosen
        settings = await self.store.get_settings(job.user_id)
        return settings.language or (await self.store.get_user(job.user_id)).language

    async def progress(self, job: JobRecord, message: str) -> None:
        """Create or edit the job's progress message."""
        target = self._replier(job)
        if target is None:
            return
        replier, destination = target
        ref = self._refs.get(job.id) or job.progress_ref
        try:
            new_ref = await replier.send_progress(destination, message, ref)
        except Exception:
            log.exception("could not update progress of job #%s", job.id)
            return
        if new_ref != ref:
            self._refs[job.id] = new_ref
            await self.store.set_progress_ref(job.id, new_ref)

    async def say(self, record: JobRecord, key: str, /, **values: Any) -> None:
        """Send a message about a job to its owner."""
        target = self._replier(record)
        if target is not None:
            replier, destination = target
            await replier.send_text(destination, text(await self._lang(record), key, **values))

    async def job_started(self, job: JobRecord) -> None:
        """A job began running."""
        await self.progress(job, text(await self._lang(job), "started", job=job.id))

    async def job_progress(self, job: JobRecord, done: int, total: int) -> None:
        """Edit the bar, at most once per interval (the last step always)."""
        if not self._steps.admit(job.id, last=done >= total):
            return
        message = text(
            await self._lang(job),
            "progress",
            job=job.id,
            bar=step_bar(done, total),
            done=done,
            total=total,
        )
        await self.progress(job, message)

    async def job_done(self, job: JobRecord, images: list[ImageRecord]) -> None:
        """Send the pictures with their caption and buttons."""
        await self.progress(job, text(await self._lang(job), "done", job=job.id))
        self._forget(job.id)
        target = self._replier(job)
        if target is None or not images:
            return
        replier, destination = target
        recipe = images[0].recipe
        caption = text(
            await self._lang(job),
            "caption",
            prompt=job.request.prompt or "mix",
            seed=recipe.get("seed"),
            model=recipe.get("model"),
            image=images[0].id,
        )
        outs = [
            OutImage(await self.store.read_image(image), image.id, f"kandinsky-{image.id}.png")
            for image in images
        ]
        buttons = result_buttons(images, edit=self.edit)
        await replier.send_images(destination, outs, caption, buttons)

    async def job_failed(self, job: JobRecord, reason: str) -> None:
        """Tell the owner, with the reason and the refund."""
        self._forget(job.id)
        if reason == "cancelled":
            await self.say(job, "cancelled", job=job.id)
            return
        lang = await self._lang(job)
        shown = {
            "internal": text(lang, "failed_internal"),
            "interrupted": text(lang, "failed_interrupted"),
        }.get(reason) or describe_reason(reason, lang)
        if not shown.endswith((".", "!", "?", "؟", "…")):
            shown += "."
        await self.say(job, "failed", job=job.id, reason=shown)

    async def job_recovered(self, job: JobRecord, outcome: str) -> None:
        """Tell the owner a restart happened and what it meant for the job."""
        await self.say(job, f"recovered_{outcome}", job=job.id)

    def _forget(self, job_id: int) -> None:
        self._refs.pop(job_id, None)
        self._steps.forget(job_id)
