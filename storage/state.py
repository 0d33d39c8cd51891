"""State every frontend shares: whether intake is paused, and each user's picture for /init."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, StoreError, execute, get_row, has_id, returned, upsert, utcnow
from storage.tables import BotState, Image, PendingInit, User

# The bot_state row that says intake is paused; its value is the message users see.
PAUSE = "pause"


async def pause_message(session: AsyncSession) -> str | None:
    """The pause message ("" is one), or None when intake is open."""
    row = await session.get(BotState, PAUSE)
    return None if row is None else row.value or ""


async def merge_pending_init(session: AsyncSession, old_id: int, target_id: int) -> None:
    """Linking: `target_id` keeps their picture; `old_id`'s moves over only if they had none."""
    kept = await session.scalar(select(PendingInit.user_id).where(PendingInit.user_id == target_id))
    if kept is None:
        await execute(
            session,
            update(PendingInit).where(PendingInit.user_id == old_id).values(user_id=target_id),
        )
    else:
        await execute(session, delete(PendingInit).where(PendingInit.user_id == old_id))


class State:
    """The pause switch and the pictures users chose for their next command."""

    def __init__(self, db: Database) -> None:
        """Work on `db`."""
        self._db = db

    async def set_pause(self, message: str | None) -> None:
        """Pause intake with `message` (may be ""), or open it again with None."""
        async with self._db.write() as session:
            if message is None:
                await execute(session, delete(BotState).where(BotState.key == PAUSE))
            else:
                values = {"key": PAUSE, "value": message, "updated_at": utcnow()}
                await upsert(session, BotState, values, "key")

    async def pause_message(self) -> str | None:
        """The pause message ("" is one), or None when intake is open."""
        async with self._db.read() as session:
            return await pause_message(session)

    async def set_pending_init(
        self, user_id: int, *, image_id: int | None = None, picture: bytes | None = None
    ) -> None:
        """Keep a stored image or a picture (exactly one) for the user's next command."""
        if (image_id is None) == (picture is None):
            raise ValueError("give exactly one of image_id and picture")
        async with self._db.write() as session:
            if await get_row(session, User, user_id) is None:
                raise StoreError(f"no user with id {user_id}")
            if image_id is not None and await get_row(session, Image, image_id) is None:
                raise StoreError(f"no image with id {image_id}")
            values = {
                "user_id": user_id,
                "image_id": image_id,
                "picture": picture,
                "created_at": utcnow(),
            }
            await upsert(session, PendingInit, values, "user_id")

    async def take_pending_init(self, user_id: int) -> int | bytes | None:
        """The image id or picture kept for the user, removed as it is read; None if none.

        One DELETE ... RETURNING: of two takers at once, one gets it and the other None.
        """
        async with self._db.write() as session:
            taken = await returned(
                session,
                delete(PendingInit)
                .where(has_id(PendingInit.user_id, user_id))
                .returning(PendingInit.image_id, PendingInit.picture),
            )
        if taken is None:
            return None
        image_id, picture = taken
        return picture if image_id is None else int(image_id)
