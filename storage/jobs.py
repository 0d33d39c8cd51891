"""Jobs: what to make, for whom and where to answer, and the life of each (queued, running,
done, failed, cancelled; then told). Each step is one conditional UPDATE, so of racing
callers exactly one makes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from generation.request import GenerationRequest
from storage import quotas
from storage.db import (
    Database,
    StoreError,
    can_exist,
    chunks,
    execute,
    get_row,
    has_id,
    returned,
    utcnow,
)
from storage.images import Images
from storage.records import ACTIVE, TOLD, ImageRecord, JobRecord, JobStatus
from storage.tables import Image, Job, JobInput
from storage.users import user_row

# How they ended is told for jobs done or failed; a cancelled job's owner hears it at once.
# How far back `untold_jobs` looks: older results are not sent out of the blue.
UNTOLD_WITHIN = timedelta(days=1)


def _job_record(job: Job, blobs: list[bytes], image_ids: tuple[int, ...]) -> JobRecord:
    return JobRecord(
        id=job.id,
        user_id=job.user_id,
        status=JobStatus(job.status),
        request=GenerationRequest.from_record(job.request, blobs),
        destination=job.destination,
        cost=job.cost,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        progress_ref=job.progress_ref,
        image_ids=image_ids,
        source=job.source,
    )


async def insert(
    session: AsyncSession,
    user_id: int,
    request: GenerationRequest,
    destination: dict[str, Any],
    cost: int,
    source: str | None = None,
) -> JobRecord:
    """Store a queued job, the request's pictures included (StoreError for an unknown user).

    `source` names what the job came from (unique: see `with_source`).
    """
    record, blobs = request.to_record()
    await user_row(session, user_id)
    job = Job(
        user_id=user_id,
        status=JobStatus.QUEUED.value,
        request=record,
        destination=destination,
        progress_ref=None,
        cost=cost,
        attempts=0,
        created_at=utcnow(),
        started_at=None,
        finished_at=None,
        error=None,
        source=source,
    )
    session.add(job)
    await session.flush()
    session.add_all(
        JobInput(job_id=job.id, position=position, data=data) for position, data in enumerate(blobs)
    )
    return _job_record(job, blobs, ())


async def claim_telling(session: AsyncSession, job_id: int) -> bool:
    """Mark the job told (in the caller's transaction); False if it was told already."""
    return bool(
        await execute(
            session,
            update(Job)
            .where(has_id(Job.id, job_id), Job.told_at.is_(None))
            .values(told_at=utcnow()),
        )
    )


async def count_active(session: AsyncSession, user_id: int | None = None) -> int:
    """Queued or running jobs (of one user, or all)."""
    query = select(func.count(Job.id)).where(Job.status.in_([s.value for s in ACTIVE]))
    if user_id is not None:
        query = query.where(has_id(Job.user_id, user_id))
    return int(await session.scalar(query) or 0)


async def _load(session: AsyncSession, query: Select[Job]) -> list[JobRecord]:
    jobs = list(await session.scalars(query))
    ids = [job.id for job in jobs]
    blobs: dict[int, list[bytes]] = {job_id: [] for job_id in ids}
    image_ids: dict[int, list[int]] = {job_id: [] for job_id in ids}
    for chunk in chunks(ids):
        inputs = await session.execute(
            select(JobInput.job_id, JobInput.data)
            .where(JobInput.job_id.in_(chunk))
            .order_by(JobInput.job_id, JobInput.position)
        )
        for job_id, data in inputs:
            blobs[job_id].append(data)
    done = [job.id for job in jobs if job.status == JobStatus.DONE.value]
    for chunk in chunks(done):
        made = await session.execute(
            select(Image.job_id, Image.id)
            .where(Image.job_id.in_(chunk))
            .order_by(Image.job_id, Image.position)
        )
        for job_id, image_id in made:
            image_ids[job_id].append(image_id)
    return [_job_record(job, blobs[job.id], tuple(image_ids[job.id])) for job in jobs]


async def _load_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, JobRecord]:
    """The jobs of these ids (that can exist) that are stored, by id."""
    found: dict[int, JobRecord] = {}
    for chunk in chunks(ids):
        loaded = await _load(session, select(Job).where(Job.id.in_(chunk)))
        found.update((job.id, job) for job in loaded)
    return found


async def with_source(session: AsyncSession, source: str) -> JobRecord | None:
    """The job that came from `source`, if one did."""
    found = await _load(session, select(Job).where(Job.source == source))
    return found[0] if found else None


class Jobs:
    """Generation jobs and their life."""

    def __init__(self, db: Database, images: Images) -> None:
        """Work on `db`; finished jobs' images go to `images`."""
        self._db = db
        self._images = images

    async def create(
        self, user_id: int, request: GenerationRequest, destination: dict[str, Any], cost: int
    ) -> JobRecord:
        """Store a queued job (the request's pictures included)."""
        async with self._db.write() as session:
            return await insert(session, user_id, request, destination, cost)

    async def get(self, job_id: int) -> JobRecord | None:
        """A job, or None."""
        found = await self.get_many([job_id])
        return found[0] if found else None

    async def get_many(self, job_ids: Sequence[int]) -> list[JobRecord]:
        """The jobs of these ids that exist, in the order given (one read)."""
        ids = [job_id for job_id in job_ids if can_exist(job_id)]
        async with self._db.read() as session:
            found = await _load_ids(session, ids)
        return [found[job_id] for job_id in ids if job_id in found]

    async def set_progress_ref(self, job_id: int, ref: dict[str, Any]) -> None:
        """Remember which message shows the job's progress."""
        async with self._db.write() as session:
            if not await execute(
                session, update(Job).where(has_id(Job.id, job_id)).values(progress_ref=ref)
            ):
                raise StoreError(f"no job with id {job_id}")

    async def mark_running(self, job_id: int) -> bool:
        """queued -> running (attempts + 1); False if the job was not queued."""
        return bool(await self.start([job_id]))

    async def start(self, job_ids: Sequence[int]) -> list[JobRecord]:
        """queued -> running (attempts + 1) for each of these jobs, in one transaction; the
        jobs that were queued, as stored now, in the order given."""
        ids = [job_id for job_id in job_ids if can_exist(job_id)]
        started: set[int] = set()
        async with self._db.write() as session:
            for chunk in chunks(ids):
                changed = await session.scalars(
                    update(Job)
                    .where(Job.id.in_(chunk), Job.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.RUNNING.value,
                        attempts=Job.attempts + 1,
                        started_at=utcnow(),
                    )
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                )
                started.update(changed)
            found = await _load_ids(session, sorted(started))
        return [found[job_id] for job_id in ids if job_id in found]

    async def requeue(self, job_id: int) -> bool:
        """running -> queued (after a restart); False if it was not running."""
        async with self._db.write() as session:
            changed = await execute(
                session,
                update(Job)
                .where(has_id(Job.id, job_id), Job.status == JobStatus.RUNNING.value)
                .values(status=JobStatus.QUEUED.value, started_at=None),
            )
        return changed == 1

    async def mark_done(
        self,
        job_id: int,
        images: list[tuple[bytes, dict[str, Any]]],
        flagged: Sequence[float | None] = (),
    ) -> list[ImageRecord]:
        """running -> done: write the PNGs, record images and prompt history; the images the
        image check flagged (a score by position) go to the moderation stream."""
        now = utcnow()
        async with self._db.write() as session:
            done = await returned(
                session,
                update(Job)
                .where(has_id(Job.id, job_id), Job.status == JobStatus.RUNNING.value)
                .values(status=JobStatus.DONE.value, finished_at=now, error=None)
                .returning(Job.user_id, Job.request, Job.destination),
            )
            if done is None:
                job = await get_row(session, Job, job_id)
                if job is None:
                    raise StoreError(f"no job with id {job_id}")
                raise StoreError(f"job {job_id} is {job.status}, not running")
            user_id, request, destination = done
            place = f"{destination.get('platform')}:{destination.get('chat_id')}"
            records = await self._images.add(
                session, job_id, user_id, request, images, now, flagged, place
            )
        self._images.remember(records, [data for data, _ in images])
        return records

    async def mark_failed(self, job_id: int, error: str) -> bool:
        """queued/running -> failed and refund its cost; False if it had already ended."""
        return await self._end_with_refund(
            job_id, ACTIVE, JobStatus.FAILED, error=error, finished_at=utcnow()
        )

    async def cancel(self, job_id: int) -> bool:
        """queued -> cancelled and refund its cost; False if it was not queued."""
        return await self._end_with_refund(
            job_id, (JobStatus.QUEUED,), JobStatus.CANCELLED, finished_at=utcnow()
        )

    async def _end_with_refund(
        self, job_id: int, before: tuple[JobStatus, ...], after: JobStatus, **values: Any
    ) -> bool:
        async with self._db.write() as session:
            ended = await returned(
                session,
                update(Job)
                .where(has_id(Job.id, job_id), Job.status.in_([status.value for status in before]))
                .values(status=after.value, **values)
                .returning(Job.user_id, Job.cost),
            )
            if ended is None:
                return False
            user_id, cost = ended
            await quotas.refund(session, user_id, cost)
            return True

    async def claim_telling(self, job_id: int) -> bool:
        """Note that a finished job's owner is being told how it ended; False if already.

        Whoever gets True tells the owner: the result reaches them once, however many
        processes or notifications race for it.
        """
        async with self._db.write() as session:
            return await claim_telling(session, job_id)

    async def untold(self, within: timedelta = UNTOLD_WITHIN) -> list[JobRecord]:
        """Jobs that ended (done or failed) in the last `within` with their owner not told."""
        since = utcnow() - within
        query = (
            select(Job)
            .where(Job.status.in_([s.value for s in TOLD]), Job.told_at.is_(None))
            .where(Job.finished_at >= since)
        )
        async with self._db.read() as session:
            return await _load(session, query.order_by(Job.id))

    async def with_status(
        self, statuses: tuple[JobStatus, ...], user_id: int | None = None
    ) -> list[JobRecord]:
        """Jobs with these statuses (of one user, or all), oldest first."""
        query = select(Job).where(Job.status.in_([JobStatus(s).value for s in statuses]))
        if user_id is not None:
            query = query.where(has_id(Job.user_id, user_id))
        async with self._db.read() as session:
            return await _load(session, query.order_by(Job.created_at, Job.id))

    async def count_active(self, user_id: int | None = None) -> int:
        """Queued or running jobs (of one user, or all)."""
        async with self._db.read() as session:
            return await count_active(session, user_id)
