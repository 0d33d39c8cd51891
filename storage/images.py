"""Result images (PNG files under the data folder, or MP4 for a video, `generation.media`;
rows in the database), prompt history and the figures of the admin `stats` command.

The bytes of the images this process wrote last are kept in memory (`RECENT_BYTES`), so
sending the pictures of a job just done does not read its files again. A file's name is its
bytes' digest, so what is kept is what is stored (an image's row can change: linking two
users moves images to the one that stays, so rows are always read from the database).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from generation.media import suffix
from storage.db import Database, StoreError, aware, has_id
from storage.records import ImageFlag, ImageRecord, JobStatus, Stats
from storage.safety import flag_images
from storage.tables import Image, Job, PromptHistory, User

# Done jobs (newest first) the wait/run percentiles of `stats()` look at.
STATS_WINDOW = 10_000
RECENT_BYTES = 32 * 2**20
"""How many bytes of the images written last are kept in memory (the newest always)."""


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile (0..1) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _write_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (temp file in the same folder, then rename)."""
    if target.is_file() and target.stat().st_size == len(data):
        return  # content-addressed: the same bytes are there already
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _history_prompt(request: dict[str, Any]) -> str:
    prompt = str(request.get("prompt") or "")
    if prompt:
        return prompt
    texts = [str(item["text"]) for item in request.get("mix") or () if item.get("text")]
    return " | ".join(texts)


def _counted() -> Select[Image, int]:
    """Images, each with the number of images its job made."""
    siblings = aliased(Image)
    count = select(func.count(siblings.id)).where(siblings.job_id == Image.job_id).scalar_subquery()
    return select(Image, count)


class Images:
    """Result images and what was asked for, per user."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        """Work on `db`, with the files under `data_dir`."""
        self._db = db
        self._data_dir = data_dir
        self._recent: OrderedDict[Path, bytes] = OrderedDict()
        self._recent_bytes = 0

    def remember(self, records: Sequence[ImageRecord], datas: Sequence[bytes]) -> None:
        """Keep the bytes of images just stored (their transaction committed) at hand."""
        for record, data in zip(records, datas, strict=True):
            self._recent[record.path] = data
            self._recent_bytes += len(data)
        while self._recent_bytes > RECENT_BYTES and len(self._recent) > 1:
            _, dropped = self._recent.popitem(last=False)
            self._recent_bytes -= len(dropped)

    def _record(self, image: Image, count: int) -> ImageRecord:
        return ImageRecord(
            id=image.id,
            job_id=image.job_id,
            user_id=image.user_id,
            sha256=image.sha256,
            path=self._data_dir / image.path,
            recipe=image.recipe,
            created_at=image.created_at,
            position=image.position,
            count=count,
            flag=image.flag,
        )

    async def _find(self, *where: ColumnElement[bool]) -> ImageRecord | None:
        """The first image (lowest id) that matches `where`, or None."""
        async with self._db.read() as session:
            rows = await session.execute(_counted().where(*where).order_by(Image.id).limit(1))
            return next((self._record(image, count) for image, count in rows), None)

    async def add(
        self,
        session: AsyncSession,
        job_id: int,
        user_id: int,
        request: dict[str, Any],
        images: list[tuple[bytes, dict[str, Any]]],
        now: datetime,
        flagged: Sequence[float | None] = (),
        place: str = "",
    ) -> list[ImageRecord]:
        """Write the PNGs of a finished job, and record them and its prompt history row.

        An image whose `flagged` score (by position) is not None is stored flagged, with an
        entry in the moderation stream naming `place`."""
        rows: list[Image] = []
        scores = list(flagged) + [None] * (len(images) - len(flagged))
        for position, (data, recipe) in enumerate(images):
            digest = hashlib.sha256(data).hexdigest()
            relative = f"images/{now:%Y}/{now:%m}/{digest}{suffix(data)}"
            await asyncio.to_thread(_write_file, self._data_dir / relative, data)
            rows.append(
                Image(
                    job_id=job_id,
                    user_id=user_id,
                    position=position,
                    sha256=digest,
                    path=relative,
                    recipe=recipe,
                    created_at=now,
                    flag=None if scores[position] is None else ImageFlag.FLAGGED.value,
                )
            )
        session.add_all(rows)
        session.add(
            PromptHistory(
                user_id=user_id, job_id=job_id, prompt=_history_prompt(request), created_at=now
            )
        )
        await session.flush()
        flag_images(session, rows, scores, place)
        return [self._record(row, len(rows)) for row in rows]

    async def get(self, image_id: int) -> ImageRecord | None:
        """An image record, or None."""
        return await self._find(has_id(Image.id, image_id))

    async def of_job(self, job_id: int, position: int) -> ImageRecord | None:
        """The `position`th image (from 0) job `job_id` made, or None."""
        return await self._find(has_id(Image.job_id, job_id), Image.position == position)

    async def with_digest(self, user_id: int, sha256: str) -> ImageRecord | None:
        """The user's first image whose PNG has this SHA-256 (hex), or None."""
        return await self._find(has_id(Image.user_id, user_id), Image.sha256 == sha256)

    async def read(self, image: ImageRecord) -> bytes:
        """The PNG bytes of a stored image."""
        recent = self._recent.get(image.path)
        if recent is not None:
            return recent
        try:
            return await asyncio.to_thread(image.path.read_bytes)
        except FileNotFoundError as error:
            raise StoreError(f"the file of image {image.id} is missing: {image.path}") from error

    async def history(
        self, user_id: int, page: int = 1, per_page: int = 10
    ) -> tuple[list[ImageRecord], int]:
        """A page of the user's images, newest first, and the number of pages (0 for none)."""
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        page = max(page, 1)
        mine = has_id(Image.user_id, user_id)
        async with self._db.read() as session:
            total = int(await session.scalar(select(func.count(Image.id)).where(mine)) or 0)
            rows = await session.execute(
                _counted()
                .where(mine)
                .order_by(Image.created_at.desc(), Image.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            found = [self._record(image, count) for image, count in rows]
        return found, math.ceil(total / per_page)

    async def stats(self, now: datetime | None = None) -> Stats:
        """Users, jobs by status, images today, p50/p95 wait and run seconds."""
        now = aware(now)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._db.read() as session:
            users = int(await session.scalar(select(func.count(User.id))) or 0)
            by_status = await session.execute(
                select(Job.status, func.count(Job.id)).group_by(Job.status)
            )
            jobs_by_status = {str(status): int(count) for status, count in by_status}
            images_today = int(
                await session.scalar(
                    select(func.count(Image.id)).where(
                        Image.created_at >= today, Image.created_at < today + timedelta(days=1)
                    )
                )
                or 0
            )
            timings = await session.execute(
                select(Job.created_at, Job.started_at, Job.finished_at)
                .where(Job.status == JobStatus.DONE.value)
                .order_by(Job.id.desc())
                .limit(STATS_WINDOW)
            )
            waits: list[float] = []
            runs: list[float] = []
            for created, started, finished in timings:
                if started is not None:
                    waits.append((started - created).total_seconds())
                    if finished is not None:
                        runs.append((finished - started).total_seconds())
        return Stats(
            users=users,
            jobs_by_status=jobs_by_status,
            images_today=images_today,
            wait_p50=percentile(waits, 0.5),
            wait_p95=percentile(waits, 0.95),
            run_p50=percentile(runs, 0.5),
            run_p95=percentile(runs, 0.95),
        )
