"""The content filter's data: the operator's prompt words, each place's policy for flagged
pictures, and the moderation stream (flagged results, refused prompts, reports).

Words are stored in the form they are matched in (the caller normalises them) and in the form
the admin typed; the built-in list's switch is a `bot_state` row. A refused prompt's entry
keeps who and where, never the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, execute, get_row, has_id, upsert, utcnow
from storage.records import FilterRules, FlagKind, FlagRecord, FlagStatus, ImageFlag
from storage.tables import BotState, FilterWord, Flag, Image, PlacePolicy

DEFAULTS_OFF = "filter_defaults_off"
"""The bot_state row whose presence switches the built-in prompt list off."""


def _record(row: Flag) -> FlagRecord:
    return FlagRecord(
        id=row.id,
        at=row.at,
        kind=FlagKind(row.kind),
        user_id=row.user_id,
        place=row.place,
        status=FlagStatus(row.status),
        job_id=row.job_id,
        image_id=row.image_id,
        score=row.score,
        resolved_by=row.resolved_by,
    )


def flag_images(
    session: AsyncSession, images: Sequence[Image], scores: Sequence[float | None], place: str
) -> None:
    """Give each just stored image (flushed: it has its id) whose score is not None an open
    entry in the moderation stream, in the caller's transaction."""
    now = utcnow()
    for image, score in zip(images, scores, strict=False):
        if score is not None:
            session.add(
                Flag(
                    at=now,
                    kind=FlagKind.IMAGE.value,
                    user_id=image.user_id,
                    job_id=image.job_id,
                    image_id=image.id,
                    place=place,
                    score=score,
                    status=FlagStatus.OPEN.value,
                )
            )


class Safety:
    """Prompt words, place policies and the moderation stream."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    # -- prompt words ---------------------------------------------------------------------
    async def add_word(self, word: str, shown: str, actor: str) -> bool:
        """Add a matched form (and how it was typed); False when it was listed already."""
        async with self._db.write() as session:
            if await session.get(FilterWord, word) is not None:
                return False
            session.add(FilterWord(word=word, shown=shown, added_by=actor, created_at=utcnow()))
        return True

    async def remove_word(self, word: str) -> bool:
        """Remove a matched form; False when it was not listed."""
        async with self._db.write() as session:
            return await execute(session, delete(FilterWord).where(FilterWord.word == word)) > 0

    async def words(self) -> list[str]:
        """The listed words and phrases as admins typed them, in order."""
        async with self._db.read() as session:
            return list(await session.scalars(select(FilterWord.shown).order_by(FilterWord.word)))

    async def rules(self) -> FilterRules:
        """The matched forms and the built-in list's switch, in one read."""
        async with self._db.read() as session:
            words = tuple(await session.scalars(select(FilterWord.word)))
            off = await session.get(BotState, DEFAULTS_OFF)
        return FilterRules(words, off is None)

    async def set_defaults(self, on: bool) -> None:
        """Switch the built-in prompt list on or off."""
        async with self._db.write() as session:
            if on:
                await execute(session, delete(BotState).where(BotState.key == DEFAULTS_OFF))
            else:
                values = {"key": DEFAULTS_OFF, "value": "", "updated_at": utcnow()}
                await upsert(session, BotState, values, "key")

    # -- place policies -------------------------------------------------------------------
    async def set_policy(self, platform: str, chat_id: str, policy: str) -> None:
        """What the place does with flagged pictures from now on."""
        values = {"platform": platform, "chat_id": chat_id, "policy": policy}
        async with self._db.write() as session:
            await upsert(
                session, PlacePolicy, {**values, "updated_at": utcnow()}, ("platform", "chat_id")
            )

    async def policy(self, platform: str, chat_id: str) -> str | None:
        """The place's policy, or None when an admin never set one."""
        async with self._db.read() as session:
            row = await session.get(PlacePolicy, (platform, chat_id))
            return None if row is None else row.policy

    # -- the moderation stream ------------------------------------------------------------
    async def add_flag(
        self,
        kind: FlagKind,
        user_id: int,
        place: str,
        *,
        job_id: int | None = None,
        image_id: int | None = None,
    ) -> FlagRecord:
        """A refused prompt or a report; a report marks its image reported (unless the image
        check flagged it already)."""
        async with self._db.write() as session:
            if image_id is not None:
                await execute(
                    session,
                    update(Image)
                    .where(has_id(Image.id, image_id), Image.flag.is_(None))
                    .values(flag=ImageFlag.REPORTED.value),
                )
            row = Flag(
                at=utcnow(),
                kind=kind.value,
                user_id=user_id,
                job_id=job_id,
                image_id=image_id,
                place=place,
                status=FlagStatus.OPEN.value,
            )
            session.add(row)
            await session.flush()
            return _record(row)

    async def flags(self, limit: int = 20) -> list[FlagRecord]:
        """The latest entries, newest first."""
        async with self._db.read() as session:
            rows = await session.scalars(select(Flag).order_by(Flag.id.desc()).limit(limit))
            return [_record(row) for row in rows]

    async def get_flag(self, flag_id: int) -> FlagRecord | None:
        """One entry, or None."""
        async with self._db.read() as session:
            row = await get_row(session, Flag, flag_id)
            return None if row is None else _record(row)

    async def resolve_flag(self, flag_id: int, status: FlagStatus, actor: str) -> FlagRecord | None:
        """Close an open entry (its image cleared, when `status` says so); None when it is
        unknown or closed already (of two admins at once, one resolves it)."""
        async with self._db.write() as session:
            changed = await execute(
                session,
                update(Flag)
                .where(has_id(Flag.id, flag_id), Flag.status == FlagStatus.OPEN.value)
                .values(status=status.value, resolved_by=actor),
            )
            if not changed:
                return None
            row = await get_row(session, Flag, flag_id)
            assert row is not None
            if status is FlagStatus.CLEARED and row.image_id is not None:
                await execute(
                    session,
                    update(Image)
                    .where(Image.id == row.image_id)
                    .values(flag=ImageFlag.CLEARED.value),
                )
            return _record(row)
