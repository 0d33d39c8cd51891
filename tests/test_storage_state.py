"""State every frontend shares, on SQLite and PostgreSQL, with two stores as two frontends:
the pause, and the picture each user keeps for their next command.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.store import Store, StoreError
from tests.helpers import png, small

PICTURE = png(color="navy")
NO_SUCH_IDS = (99999999999999999999, 2**31, 0, -1)


async def new_user(store: Store, number: int = 1) -> int:
    return (await store.ensure_user("telegram", str(number), f"user {number}")).id


# the pause


async def test_pause_is_seen_by_every_store(stores: tuple[Store, Store]) -> None:
    first, second = stores
    assert await second.pause_message() is None
    await first.set_pause("")
    assert await second.pause_message() == ""  # paused, with no message
    await second.set_pause("back at noon")
    assert await first.pause_message() == "back at noon"
    await first.set_pause(None)
    assert await second.pause_message() is None
    await first.set_pause(None)  # resuming twice is fine
    assert await first.pause_message() is None


# pictures kept for the next command


async def test_pending_init_is_taken_once(stores: tuple[Store, Store]) -> None:
    first, second = stores
    owner = await new_user(first)
    assert await first.take_pending_init(owner) is None
    await first.set_pending_init(owner, picture=PICTURE)
    assert await second.take_pending_init(owner) == PICTURE
    assert await first.take_pending_init(owner) is None

    job = await first.create_job(owner, small(), {}, 1)
    assert await first.mark_running(job.id)
    (image,) = await first.mark_done(job.id, [(png(), {})])
    await first.set_pending_init(owner, picture=PICTURE)
    await second.set_pending_init(owner, image_id=image.id)  # the newer choice wins
    takers = [store.take_pending_init(owner) for store in stores for _ in range(5)]
    assert sorted(await asyncio.gather(*takers), key=repr) == [image.id] + [None] * 9


async def test_pending_init_refuses_what_cannot_be_kept(store: Store) -> None:
    owner = await new_user(store)
    with pytest.raises(ValueError, match="exactly one"):
        await store.set_pending_init(owner)
    with pytest.raises(ValueError, match="exactly one"):
        await store.set_pending_init(owner, image_id=1, picture=PICTURE)
    with pytest.raises(StoreError):
        await store.set_pending_init(owner, image_id=12345)
    for no_such in (12345, *NO_SUCH_IDS):
        with pytest.raises(StoreError):
            await store.set_pending_init(no_such, picture=PICTURE)
        with pytest.raises(StoreError):
            await store.set_pending_init(owner, image_id=no_such)
        assert await store.take_pending_init(no_such) is None
    assert await store.take_pending_init(owner) is None


async def link(store: Store, target: int, platform_user_id: str) -> None:
    code = f"CODE{platform_user_id}"
    await store.create_link_code(target, code, datetime.now(UTC) + timedelta(minutes=5))
    merged = await store.redeem_link_code(code, "telegram", platform_user_id, "them")
    assert merged is not None and merged.id == target


async def test_linking_keeps_the_surviving_users_pending_init(store: Store) -> None:
    ann = await new_user(store, 1)
    other = await new_user(store, 2)
    await store.set_pending_init(ann, picture=b"ann's")
    await store.set_pending_init(other, picture=b"other's")
    await link(store, ann, "2")
    assert await store.take_pending_init(ann) == b"ann's"
    assert await store.take_pending_init(other) is None

    # the survivor had none: the other's moves over, with the image it names
    third = await new_user(store, 3)
    job = await store.create_job(third, small(), {}, 1)
    assert await store.mark_running(job.id)
    (image,) = await store.mark_done(job.id, [(png(), {})])
    await store.set_pending_init(third, image_id=image.id)
    await link(store, ann, "3")
    assert await store.take_pending_init(ann) == image.id
    moved = await store.get_image(image.id)
    assert moved is not None and moved.user_id == ann
