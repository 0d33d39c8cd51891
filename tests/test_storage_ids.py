"""Ids that cannot exist, which users may type, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.records import JobStatus
from storage.store import Store, StoreError
from tests.helpers import png, small

ALL = tuple(JobStatus)
NO_SUCH_IDS = (99999999999999999999, 2**31, 0, -1)


@pytest.mark.parametrize("no_such", NO_SUCH_IDS)
async def test_ids_that_cannot_exist_are_unknown(store: Store, no_such: int) -> None:
    owner = (await store.ensure_user("telegram", "1", "tia")).id
    assert await store.get_job(no_such) is None
    assert await store.get_image(no_such) is None
    assert not await store.mark_running(no_such)
    assert not await store.requeue(no_such)
    assert not await store.mark_failed(no_such, "internal")
    assert not await store.cancel_job(no_such)
    assert not await store.claim_telling(no_such)
    assert not await store.reserve_quota(no_such, 1)
    assert await store.jobs(ALL, no_such) == []
    assert await store.count_active(no_such) == 0
    assert await store.history(no_such) == ([], 0)
    unknown = [
        store.get_user(no_such),
        store.accounts(no_such),
        store.set_ban(no_such, True),
        store.get_settings(no_such),
        store.update_settings(no_such, width=512),
        store.quota(no_such),
        store.refund_quota(no_such, 1),
        store.set_daily_limit(no_such, 5),
        store.grant_credits(no_such, 5),
        store.reset_quota(no_such),
        store.create_link_code(no_such, "CODE", datetime.now(UTC) + timedelta(minutes=5)),
        store.create_job(no_such, small(), {}, 1),
        store.admit_job(no_such, small(), {}, 1, queue_size=5, user_queue=5),
        store.set_progress_ref(no_such, {}),
        store.mark_done(no_such, [(png(), {})]),
    ]
    for call in unknown:
        with pytest.raises(StoreError):
            await call
    assert await store.jobs(ALL) == [] and (await store.quota(owner)).used_today == 0
