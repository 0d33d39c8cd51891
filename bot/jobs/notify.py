"""Tells users what happens to their jobs: status messages directly, ends through the outbox.

`Notifier` implements the port's `JobEvents`. While a job waits and runs its status message
is created and edited directly, best effort (a lost step is not worth a retry). How a job
ended (the status message's last text, the pictures, or the failure) goes through the outbox
(`bot.delivery`), keyed by job (`job:12:status`, `job:12:result`, `job:12:failed`) and stored
in the same transaction that marks the job told: several processes may hear one end, its
owner hears it once, and a restart delivers whatever had not gone out.

A job is queued before its owner hears so (it need not wait for that message to start):
while its status message is being created (`queuing`), what happens to the job waits for it,
so the owner hears everything in order, in that one message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.chat.command import EDIT_MARK, Action, Button, Destination
from bot.chat.labels import image_label
from bot.chat.present import step_bar
from bot.chat.replier import ProgressRef, Replier
from bot.chat.throttle import Throttle
from bot.delivery.outbox import Outbox, images_draft, key_of, status_draft, text_draft
from bot.i18n.catalogue import describe_reason, text
from bot.jobs.policy import ALLOW, BLOCK, SPOILER, effective
from generation.request import Task
from storage.records import ImageFlag, ImageRecord, JobRecord
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


RESULT_ACTIONS = (
    (Action.REROLL, "🔄"),
    (Action.RECIPE, "ℹ️"),
    (Action.VARIATIONS, "V"),
    (Action.USE_AS_INIT, "⤴"),
)
"""The buttons every image of a result gets, in order, with their labels."""
REPORT_MARK = "🚩"
"""The label of the result's Report button (one per result, after the images' buttons)."""
VIDEO_ACTIONS = RESULT_ACTIONS[:2]
"""A video's buttons: make it again, show its recipe."""


def result_buttons(images: list[ImageRecord], *, edit: bool = False) -> list[Button]:
    """The same buttons for each image, acting on it, image by image (Edit, which asks what
    to change, when `edit`); with several images each label carries the image's number in
    the result. A video gets only Again and Recipe: the others start from a picture. Last,
    the result's Report button (on its first image)."""
    actions = (*RESULT_ACTIONS, (Action.EDIT, EDIT_MARK)) if edit else RESULT_ACTIONS
    buttons: list[Button] = []
    for number, image in enumerate(images, start=1):
        suffix = f" {number}" if len(images) > 1 else ""
        shown = VIDEO_ACTIONS if image.is_video else actions
        buttons.extend(Button(action, image.id, label + suffix) for action, label in shown)
    if images:
        buttons.append(Button(Action.REPORT, images[0].id, REPORT_MARK))
    return buttons


def _numbers(images: list[ImageRecord]) -> str:
    return " ".join(f"#{image_label(image)}" for image in images)


class Notifier:
    """Implements the queue's job events by talking to users."""

    def __init__(
        self,
        store: Store,
        repliers: dict[str, Replier],
        outbox: Outbox,
        *,
        progress_interval: float = 1.0,
        edit: bool = False,
    ) -> None:
        """`edit`: results get an Edit button (a family that edits by instruction is here)."""
        self.store = store
        self.repliers = repliers
        self.outbox = outbox
        self.edit = edit
        self._steps = Throttle(progress_interval)  # per job; the last step always goes
        self._refs: dict[int, ProgressRef] = {}
        self._queuing: dict[int, asyncio.Future[None]] = {}

    @contextmanager
    def queuing(self, job_id: int) -> Iterator[None]:
        """While the block runs, the owner is being told job `job_id` is queued (its status
        message created, `remember`ed): the job's events wait for the block to end."""
        told = asyncio.get_running_loop().create_future()
        self._queuing[job_id] = told
        try:
            yield
        finally:
            del self._queuing[job_id]
            told.set_result(None)

    def remember(self, job_id: int, ref: ProgressRef) -> None:
        """Note the progress message of a job just queued."""
        self._refs[job_id] = ref

    async def _told_queued(self, job: JobRecord) -> None:
        """Wait until the owner heard the job is queued (when that is being said now)."""
        told = self._queuing.get(job.id)
        if told is not None:
            await asyncio.shield(told)

    async def _lang(self, job: JobRecord) -> str | None:
        """The language the job's owner chose when it was queued (else theirs now)."""
        chosen = Destination.from_dict(job.destination).extra.get("language")
        if chosen:
            return chosen
        settings = await self.store.get_settings(job.user_id)
        return settings.language or (await self.store.get_user(job.user_id)).language

    def _ref(self, job: JobRecord) -> ProgressRef | None:
        return self._refs.get(job.id) or job.progress_ref or None

    async def progress(self, job: JobRecord, message: str) -> None:
        """Create or edit the job's progress message (best effort)."""
        await self._told_queued(job)
        destination = Destination.from_dict(job.destination)
        replier = self.repliers.get(destination.platform)
        if replier is None:
            log.warning(
                "no %s adapter running; job #%s shows no progress", destination.platform, job.id
            )
            return
        ref = self._ref(job)
        try:
            new_ref = await replier.send_progress(destination, message, ref)
        except Exception:
            log.exception("could not update progress of job #%s", job.id)
            return
        if new_ref and new_ref != ref:
            self._refs[job.id] = new_ref
            await self.store.set_progress_ref(job.id, new_ref)

    async def say(
        self, record: JobRecord, key: str, /, *, end: bool = False, **values: Any
    ) -> None:
        """Send a message about a job to its owner. An `end` (how the job ended) is keyed
        `job:<id>:failed` and marks the job told; it is not sent when it was told already."""
        await self._told_queued(record)
        message = text_draft(
            Destination.from_dict(record.destination),
            text(await self._lang(record), key, **values),
            key=key_of("job", record.id, "failed") if end else None,
            user_id=record.user_id,
            job_id=record.id,
        )
        await self.outbox.post(message, tell_job=record.id if end else None)

    async def job_started(self, job: JobRecord) -> None:
        """A job began running."""
        await self.progress(job, text(await self._lang(job), "started", job=job.id))

    async def job_progress(self, job: JobRecord, done: int, total: int) -> None:
        """Edit the bar, at most once per interval (the last step always). After a video's
        last step its frames are decoded and encoded: the bar says so."""
        last = done >= total
        if not self._steps.admit(job.id, last=last):
            return
        encoding = last and job.request.task is Task.ANIMATE
        message = text(
            await self._lang(job),
            "progress_encoding" if encoding else "progress",
            job=job.id,
            bar=step_bar(done, total),
            done=done,
            total=total,
        )
        await self.progress(job, message)

    async def job_done(self, job: JobRecord, images: list[ImageRecord]) -> None:
        """The status message's last text and the pictures, with caption and buttons."""
        await self._told_queued(job)
        lang = await self._lang(job)
        destination = Destination.from_dict(job.destination)
        owner = {"user_id": job.user_id, "job_id": job.id}
        drafts = [
            status_draft(
                destination,
                text(lang, "done", job=job.id),
                self._ref(job),
                key=key_of("job", job.id, "status"),
                **owner,
            )
        ]
        flagged = [image for image in images if image.flag == ImageFlag.FLAGGED]
        policy = ALLOW
        if flagged:
            stored = await self.store.place_policy(destination.platform, destination.chat_id)
            policy = effective(stored, destination)
        shown = [image for image in images if policy != BLOCK or image not in flagged]
        if shown:
            recipe = shown[0].recipe
            caption = text(
                lang,
                "caption",
                prompt=job.request.prompt or "mix",
                seed=recipe.get("seed"),
                model=recipe.get("model"),
                images=_numbers(shown),
            )
            hidden = [image.id for image in flagged] if policy == SPOILER else []
            if hidden:
                caption += "\n" + text(lang, "flagged_note", images=_numbers(flagged))
            drafts.append(
                images_draft(
                    destination,
                    [image.id for image in shown],
                    caption,
                    result_buttons(shown, edit=self.edit),
                    key=key_of("job", job.id, "result"),
                    spoilers=hidden,
                    **owner,
                )
            )
        if flagged and policy == BLOCK:
            held = text(lang, "flagged_held", job=job.id, images=_numbers(flagged))
            drafts.append(text_draft(destination, held, key=key_of("job", job.id, "held"), **owner))
        self._forget(job.id)
        await self.outbox.post(*drafts, tell_job=job.id)

    async def job_failed(self, job: JobRecord, reason: str) -> None:
        """Tell the owner, with the reason and the refund."""
        self._forget(job.id)
        if reason == "cancelled":
            await self.say(job, "cancelled", end=True, job=job.id)
            return
        lang = await self._lang(job)
        shown = {
            "internal": text(lang, "failed_internal"),
            "interrupted": text(lang, "failed_interrupted"),
        }.get(reason) or describe_reason(reason, lang)
        if not shown.endswith((".", "!", "?", "؟", "…")):
            shown += "."
        await self.say(job, "failed", end=True, job=job.id, reason=shown)

    async def job_recovered(self, job: JobRecord, outcome: str) -> None:
        """Tell the owner a restart happened and what it meant for the job."""
        await self.say(job, f"recovered_{outcome}", job=job.id)

    def _forget(self, job_id: int) -> None:
        self._refs.pop(job_id, None)
        self._steps.forget(job_id)
