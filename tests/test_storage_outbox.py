"""The outbox table, on SQLite and PostgreSQL, with two stores as two frontends: idempotent
keys, a job's end posted once, one sender per try, retries, and failed results told once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.records import JobStatus, OutboxDraft, OutboxStatus
from storage.store import Store
from tests.helpers import png, small

HOLD = timedelta(minutes=5)


def draft(key: str | None, platform: str = "telegram", **payload: object) -> OutboxDraft:
    destination = {"platform": platform, "chat_id": "1", "user_id": "1", "extra": {}}
    return OutboxDraft(platform, "text", destination, {"text": "hi", **payload}, key=key)


async def finished_job(store: Store) -> tuple[int, int]:
    """A user and their job, done with one image: (user id, job id)."""
    user = await store.ensure_user("telegram", "7", "ann")
    destination = {"platform": "telegram", "chat_id": "7", "user_id": "7", "extra": {}}
    job = await store.create_job(user.id, small(prompt="a fox"), destination, 1)
    assert await store.mark_running(job.id)
    await store.mark_done(job.id, [(png(), {"seed": 1})])
    return user.id, job.id


async def test_a_key_is_stored_once(stores: tuple[Store, Store]) -> None:
    first, second = stores
    posted = await asyncio.gather(*(store.post_messages([draft("k:1")]) for store in stores * 3))
    assert sorted(len(stored) for stored in posted) == [0, 0, 0, 0, 0, 1]
    assert len(await first.post_messages([draft(None), draft(None)])) == 2  # no key: no check
    stored = await second.outbox_message("k:1")
    assert stored is not None and stored.status is OutboxStatus.PENDING and stored.attempts == 0


async def test_the_end_of_a_job_is_posted_once(stores: tuple[Store, Store]) -> None:
    first, second = stores
    _, job_id = await finished_job(first)
    ends = [draft(f"job:{job_id}:status"), draft(f"job:{job_id}:result")]
    posted = await asyncio.gather(
        *(store.post_messages(ends, tell_job=job_id) for store in stores * 2)
    )
    assert sorted(len(stored) for stored in posted) == [0, 0, 0, 2]
    assert await first.untold_jobs() == []  # told, in the same transaction
    assert not await second.claim_telling(job_id)
    job = await second.get_job(job_id)
    assert job is not None and job.status is JobStatus.DONE


async def test_one_sender_per_try_and_retries_when_due(stores: tuple[Store, Store]) -> None:
    first, second = stores
    (message,) = await first.post_messages([draft("k:2")])
    assert [m.id for m in await second.due_messages(["telegram"])] == [message.id]
    assert await second.due_messages(["discord"]) == []
    claims = await asyncio.gather(*(s.claim_message(message.id, HOLD) for s in stores * 3))
    (taken,) = [claim for claim in claims if claim is not None]
    assert taken.status is OutboxStatus.SENDING and taken.attempts == 1
    assert await first.due_messages(["telegram"]) == []  # held
    assert await first.messages_waiting(["telegram"]) == 1

    later = datetime.now(UTC) + timedelta(hours=1)
    await second.retry_message(message.id, later, "502 Bad Gateway", {"text": "hi", "parts": {}})
    retried = await first.outbox_message("k:2")
    assert retried is not None and retried.status is OutboxStatus.PENDING
    assert retried.next_at >= later - timedelta(seconds=1) and retried.error == "502 Bad Gateway"
    assert await first.due_messages(["telegram"]) == []  # not yet
    assert await first.claim_message(message.id, HOLD) is None
    soonest = await second.next_message_try(["telegram"])  # when a sender should look again
    assert soonest is not None and abs((soonest - later).total_seconds()) < 1
    assert await second.next_message_try(["discord"]) is None

    # a sender that stopped gives its messages back; a stopped run's are taken over at start
    (held,) = await first.post_messages([draft("k:3")], hold=HOLD)
    assert held.status is OutboxStatus.SENDING and await first.due_messages(["telegram"]) == []
    assert await second.release_messages([held.id]) == 1
    assert [m.id for m in await first.due_messages(["telegram"])] == [held.id]
    assert await second.claim_message(held.id, HOLD) is not None
    assert await first.release_messages() == 1
    assert await first.claim_message(held.id, HOLD) is not None
    await first.message_sent(held.id)
    await second.message_sent(held.id)  # once only: it is no longer being sent
    sent = await second.outbox_message("k:3")
    assert sent is not None and sent.status is OutboxStatus.SENT and sent.sent_at is not None
    assert sent.attempts == 3


async def test_failed_results_are_told_once(stores: tuple[Store, Store]) -> None:
    first, second = stores
    user_id, job_id = await finished_job(first)
    result = OutboxDraft(
        "telegram", "images", {}, {"images": [1]}, key="r", user_id=user_id, job_id=job_id
    )
    note = OutboxDraft("telegram", "text", {}, {"text": "x"}, key="t", user_id=user_id)
    stored = await first.post_messages([result, note], hold=HOLD)
    for message in stored:
        await second.fail_message(message.id, "Forbidden: bot was blocked by the user")
    told = await asyncio.gather(*(s.take_undelivered(user_id, "images") for s in stores * 2))
    assert sorted(told) == [0, 0, 0, 1]  # texts are not counted
    assert await first.take_undelivered(2**40, "images") == 0


async def test_old_settled_messages_are_forgotten(store: Store) -> None:
    result = OutboxDraft("telegram", "images", {}, {"images": [1]}, key="d")
    drafts = [draft("a"), draft("b"), draft("c"), result]
    sent, failed, _, lost = await store.post_messages(drafts, hold=HOLD)
    await store.message_sent(sent.id)
    for message in (failed, lost):
        await store.fail_message(message.id, "chat not found")
    assert await store.prune_outbox(datetime.now(UTC) - timedelta(days=1), keep_kind="images") == 0
    assert await store.prune_outbox(datetime.now(UTC) + timedelta(days=1), keep_kind="images") == 2
    assert await store.outbox_message("a") is None and await store.outbox_message("b") is None
    assert await store.outbox_message("c") is not None, "still on its way"
    assert await store.outbox_message("d") is not None, "its owner has not heard of it yet"
    assert await store.post_messages([draft("a")]), "its key is free again"
