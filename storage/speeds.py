"""Measured speeds: how fast each device runs each family's tasks at each size.

One row per model family, task, bucket of pixel counts and device holds moving averages,
per image, of the seconds one decoder step takes and of the rest of a pipeline call. Every
worker adds its measurements as jobs finish (one statement, so two workers at once both
count); every frontend reads them to estimate waiting times.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database, aware
from storage.records import SpeedRecord
from storage.tables import Speed

ALPHA = 0.25
"""The weight of a new measurement in a moving average."""


def bucket(pixels: float) -> int:
    """The bucket of a size of `pixels` pixels: sizes within a factor of about 1.4 share one."""
    return round(2 * math.log2(max(pixels, 1.0)))


def _record(row: Any) -> SpeedRecord:
    return SpeedRecord(
        family=row.family,
        task=row.task,
        bucket=row.bucket,
        device=row.device,
        pixels=row.pixels,
        step_seconds=row.step_seconds,
        other_seconds=row.other_seconds,
        samples=row.samples,
        updated_at=row.updated_at,
    )


class Speeds:
    """Reads and adds to the `speeds` table."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def record(
        self,
        family: str,
        task: str,
        device: str,
        pixels: int,
        step_seconds: float,
        other_seconds: float,
        now: datetime | None = None,
    ) -> SpeedRecord:
        """Add one measurement (per image) to the averages of its row; return the row.

        The rest of a call (`other_seconds`) comes down at once to a lower measurement and
        rises slowly: a call that warmed a device up or compiled a model takes longer once.
        """
        values = {
            "family": family,
            "task": task,
            "bucket": bucket(pixels),
            "device": device,
            "pixels": float(pixels),
            "step_seconds": step_seconds,
            "other_seconds": other_seconds,
            "samples": 1,
            "updated_at": aware(now),
        }
        dialect = self._db.engine.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Speed)
        statement = insert.values(**values)
        new = statement.excluded
        changes = {
            "pixels": Speed.pixels + ALPHA * (new.pixels - Speed.pixels),
            "step_seconds": Speed.step_seconds + ALPHA * (new.step_seconds - Speed.step_seconds),
            "other_seconds": case(
                (new.other_seconds < Speed.other_seconds, new.other_seconds),
                else_=Speed.other_seconds + ALPHA * (new.other_seconds - Speed.other_seconds),
            ),
            "samples": Speed.samples + 1,
            "updated_at": new.updated_at,
        }
        upsert = statement.on_conflict_do_update(
            index_elements=[Speed.family, Speed.task, Speed.bucket, Speed.device], set_=changes
        ).returning(*Speed.__table__.columns)
        async with self._db.write() as session:
            row = (await session.execute(upsert)).one()
        return _record(row)

    async def all(self) -> list[SpeedRecord]:
        """Every row, by family, task, bucket and device."""
        query = select(Speed).order_by(Speed.family, Speed.task, Speed.bucket, Speed.device)
        async with self._db.read() as session:
            rows = (await session.scalars(query)).all()
        return [_record(row) for row in rows]
