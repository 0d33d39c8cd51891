"""Admitting jobs, on SQLite and PostgreSQL: pause, queue caps, quota and the job row in one
transaction, with one store and with two (two frontends) racing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import StatementError

from storage.records import Admission, JobStatus
from storage.store import Store, StoreError
from tests.helpers import png, small

PICTURE = png(color="navy")
ALL = tuple(JobStatus)


async def new_user(store: Store, number: int = 1) -> int:
    return (await store.ensure_user("telegram", str(number), f"user {number}")).id


async def admit(store: Store, owner: int, **caps: Any) -> Admission:
    limits = {"queue_size": 100, "user_queue": 100, **caps}
    return await store.admit_job(owner, small(), {"chat": owner}, 1, **limits)


async def nothing_changed(store: Store, owner: int, used_today: int) -> None:
    assert (await store.quota(owner)).used_today == used_today
    assert await store.jobs(ALL) == []


async def test_admission_refuses_in_order_and_a_refusal_changes_nothing(store: Store) -> None:
    owner = await new_user(store)
    await store.set_daily_limit(owner, 1)

    await store.set_pause("maintenance")
    refused = await admit(store, owner, queue_size=0, user_queue=0)
    assert (refused.job, refused.refusal) == (None, "paused")
    assert (refused.values, refused.quota) == ({"message": "maintenance"}, None)
    await nothing_changed(store, owner, 0)
    await store.set_pause("")
    assert (await admit(store, owner)).values == {"message": ""}
    await store.set_pause(None)

    refused = await admit(store, owner, queue_size=0, user_queue=0)
    assert (refused.refusal, refused.values) == ("queue_full", {"size": 0})
    refused = await admit(store, owner, user_queue=0)
    assert (refused.refusal, refused.values) == ("user_queue_full", {"count": 0, "limit": 0})
    await nothing_changed(store, owner, 0)

    admitted = await admit(store, owner)
    assert admitted.refusal is None and admitted.values == {} and admitted.quota is None
    job = admitted.job
    assert job is not None and job.status is JobStatus.QUEUED and job.cost == 1
    assert job.user_id == owner and job.destination == {"chat": owner}
    assert await store.get_job(job.id) == job
    assert (await store.quota(owner)).used_today == 1

    # the caps come before the quota, which is spent now
    refused = await admit(store, owner, queue_size=1, user_queue=0)
    assert (refused.refusal, refused.values) == ("queue_full", {"size": 1})
    refused = await admit(store, owner, user_queue=1)
    assert (refused.refusal, refused.values) == ("user_queue_full", {"count": 1, "limit": 1})
    refused = await admit(store, owner)
    assert refused.refusal == "quota" and refused.job is None
    assert refused.quota == await store.quota(owner) and refused.values == {"limit": 1}
    assert [j.id for j in await store.jobs(ALL)] == [job.id]
    assert await store.count_active() == 1

    # the daily reset is the quota's, as with reserve_quota
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert (await admit(store, owner, now=tomorrow)).job is not None
    # the caps count queued and running jobs, not ended ones
    assert await store.mark_running(job.id)
    assert (await admit(store, owner, user_queue=2, now=tomorrow)).refusal == "user_queue_full"
    assert await store.mark_failed(job.id, "internal")  # ended, and its cost refunded
    assert (await admit(store, owner, user_queue=2, now=tomorrow)).job is not None


async def test_admission_keeps_the_pictures_of_the_request(store: Store) -> None:
    owner = await new_user(store)
    request = small(init_image=PICTURE, strength=0.5)
    admitted = await store.admit_job(owner, request, {}, 1, queue_size=1, user_queue=1)
    assert admitted.job is not None and admitted.job.request == request
    stored = await store.get_job(admitted.job.id)
    assert stored is not None and stored.request.init_image == PICTURE


async def test_a_failed_admission_writes_nothing(store: Store) -> None:
    owner = await new_user(store)
    await store.set_daily_limit(owner, 2)
    with pytest.raises(StatementError):  # the destination cannot be stored: after the quota
        await store.admit_job(owner, small(), {"x": object()}, 2, queue_size=5, user_queue=5)
    await nothing_changed(store, owner, 0)
    with pytest.raises(StoreError):
        await store.admit_job(12345, small(), {}, 1, queue_size=5, user_queue=5)
    assert await store.jobs(ALL) == []


@pytest.mark.parametrize("frontends", [1, 2])
async def test_40_requests_of_one_user_at_once_admit_exactly_the_user_cap(
    stores: tuple[Store, Store], frontends: int
) -> None:
    used = stores[:frontends]
    owner = await new_user(used[0])
    await used[0].set_daily_limit(owner, 1000)
    tries = [admit(used[n % frontends], owner, user_queue=5) for n in range(40)]
    results = await asyncio.gather(*tries)
    assert sum(result.job is not None for result in results) == 5
    assert {result.refusal for result in results} == {None, "user_queue_full"}
    assert (await used[-1].quota(owner)).used_today == 5
    assert await used[-1].count_active(owner) == 5


@pytest.mark.parametrize("frontends", [1, 2])
async def test_20_users_at_once_admit_exactly_the_queue_size(
    stores: tuple[Store, Store], frontends: int
) -> None:
    used = stores[:frontends]
    owners = [await new_user(used[0], number) for number in range(20)]
    tries = [admit(used[n % frontends], owner, queue_size=5) for n, owner in enumerate(owners)]
    results = await asyncio.gather(*tries)
    admitted = [result.job.user_id for result in results if result.job is not None]
    assert len(admitted) == 5
    assert {result.refusal for result in results} == {None, "queue_full"}
    assert await used[-1].count_active() == 5
    for owner in owners:
        assert (await used[-1].quota(owner)).used_today == (1 if owner in admitted else 0)
