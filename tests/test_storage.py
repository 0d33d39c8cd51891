"""The store, on a SQLite file and on a private PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, inspect, select, text, update

from generation.request import GenerationRequest, MixItem, Task
from storage.db import prepare_folders
from storage.images import percentile
from storage.migrate import async_url
from storage.quotas import next_midnight
from storage.records import ACTIVE, JobStatus, UserSettings
from storage.store import Store, StoreError
from storage.tables import Base, Image, Job, PromptHistory
from tests.helpers import png

TABLES = {
    "users",
    "accounts",
    "user_settings",
    "quotas",
    "jobs",
    "job_inputs",
    "images",
    "prompt_history",
    "filter_words",
    "place_policies",
    "flags",
    "audit_log",
    "link_codes",
    "bot_state",
    "pending_inits",
    "workers",
    "worker_requests",
    "worker_replies",
    "inbox",
    "outbox",
    "speeds",
}
PICTURE = png(color="navy")
OTHER_PICTURE = png(color="olive")


def request(**changes: Any) -> GenerationRequest:
    return GenerationRequest(prompt="a red fox", seed=7, steps=2, width=64, height=64).replace(
        **changes
    )


async def user_id(store: Store, number: int = 1, platform: str = "discord") -> int:
    return (await store.ensure_user(platform, str(number), f"user {number}")).id


async def running_job(store: Store, owner: int, cost: int = 1, **changes: Any) -> int:
    job = await store.create_job(owner, request(**changes), {"channel": 5}, cost)
    assert await store.mark_running(job.id)
    return job.id


async def set_columns(store: Store, model: Any, row_id: int, **values: Any) -> None:
    """Test-only: change columns directly (timestamps the store sets from the clock)."""
    async with store.engine.begin() as connection:
        await connection.execute(update(model).where(model.id == row_id).values(**values))


# schema and migrations


def _schema(connection: Connection) -> tuple[set[str], list[Any], str | None]:
    tables = set(inspect(connection).get_table_names())
    context = MigrationContext.configure(connection)
    return tables, compare_metadata(context, Base.metadata), context.get_current_revision()


async def test_migrations_create_the_schema_and_open_is_idempotent(
    db_url: str, tmp_path: Path
) -> None:
    first = await Store.open(db_url, tmp_path / "data")
    try:
        async with first.engine.connect() as connection:
            tables, differences, revision = await connection.run_sync(_schema)
        assert tables == TABLES | {"alembic_version"}
        assert revision == "0006"
        assert differences == []  # the migration and the ORM models agree
        owner = await first.ensure_user("discord", "1", "ann")
    finally:
        await first.close()
    second = await Store.open(db_url, tmp_path / "data")
    try:
        assert (await second.get_user(owner.id)).name == "ann"
        async with second.engine.connect() as connection:
            assert (await connection.run_sync(_schema))[2] == "0006"
    finally:
        await second.close()


async def test_stores_opened_at_once_share_one_database(db_url: str, tmp_path: Path) -> None:
    """Two processes (here two stores) starting together, then racing for one quota."""
    stores = await asyncio.gather(*(Store.open(db_url, tmp_path / "data") for _ in range(2)))
    try:
        first, second = stores
        owners = await asyncio.gather(
            *(store.ensure_user("telegram", "5", "eve") for store in stores for _ in range(5))
        )
        assert len({owner.id for owner in owners}) == 1
        owner = owners[0].id
        await first.set_daily_limit(owner, 10)
        results = await asyncio.gather(
            *(store.reserve_quota(owner, 1) for store in stores for _ in range(50))
        )
        assert results.count(True) == 10
        assert (await second.quota(owner)).used_today == 10
    finally:
        for store in stores:
            await store.close()


async def test_plain_urls_get_an_async_driver() -> None:
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'kbot.db'}", tmp_path / "data")
    try:
        async with store.engine.connect() as connection:

            async def pragma(name: str) -> Any:
                return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("busy_timeout") == 30_000
    finally:
        await store.close()


async def test_a_new_sqlite_file_is_made_in_wal_mode(tmp_path: Path) -> None:
    """Switching a new file to WAL is a read that becomes a write inside SQLite: two
    connections doing it at once make one fail at once ("database is locked", no busy wait).
    So the file is in WAL mode before anything connects to it."""
    database = tmp_path / "new" / "kbot.db"
    url = async_url(f"sqlite:///{database}")
    prepare_folders(url, tmp_path / "data")
    header = database.read_bytes()[:100]
    assert header[18:20] == b"\x02\x02"  # file format versions 2 and 2: WAL
    assert [path.name for path in database.parent.iterdir()] == ["kbot.db"]  # nothing left over

    # an existing file is left as it is
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old)) as connection, connection:
        connection.execute("CREATE TABLE kept (x)")
    before = old.read_bytes()
    prepare_folders(async_url(f"sqlite:///{old}"), tmp_path / "data")
    assert old.read_bytes() == before and before[18:20] == b"\x01\x01"


# users, accounts, settings


async def test_users_accounts_and_settings(store: Store) -> None:
    ann = await store.ensure_user("discord", "42", "ann", "en")
    assert ann.name == "ann" and ann.language == "en" and not ann.banned
    assert ann.created_at.tzinfo is not None and ann.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - ann.created_at) < timedelta(minutes=1)
    assert await store.ensure_user("discord", "42", "ann") == ann
    renamed = await store.ensure_user("discord", "42", "annie", "de")
    assert renamed.id == ann.id and renamed.language == "de" and renamed.name == "annie"
    assert (await store.accounts(ann.id))[0].name == "annie"
    bob = await store.ensure_user("telegram", "42", "bob")
    assert bob.id != ann.id
    assert await store.find_user("discord", "42") == renamed
    assert await store.find_user("discord", "43") is None
    assert await store.get_user(bob.id) == bob
    with pytest.raises(StoreError):
        await store.get_user(9999)

    assert await store.get_settings(ann.id) == UserSettings()
    changed = await store.update_settings(ann.id, width=512, height=768, negative_prompt="blur")
    assert changed == UserSettings(width=512, height=768, negative_prompt="blur")
    cleared = await store.update_settings(ann.id, width=None, default_model="3")
    assert cleared == UserSettings(height=768, negative_prompt="blur", default_model="3")
    assert await store.get_settings(ann.id) == cleared
    assert await store.get_settings(bob.id) == UserSettings()
    with pytest.raises(ValueError, match="colour"):
        await store.update_settings(ann.id, colour="red")
    with pytest.raises(StoreError):
        await store.get_settings(9999)

    await store.set_ban(bob.id, True, "spam")
    banned = await store.get_user(bob.id)
    assert banned.banned and banned.ban_reason == "spam"
    await store.set_ban(bob.id, False)
    unbanned = await store.get_user(bob.id)
    assert not unbanned.banned and unbanned.ban_reason is None
    with pytest.raises(StoreError):
        await store.set_ban(9999, True)


# quotas


async def test_200_concurrent_reservations_take_exactly_the_limit(store: Store) -> None:
    owner = await user_id(store)
    await store.set_daily_limit(owner, 10)
    results = await asyncio.gather(*(store.reserve_quota(owner, 1) for _ in range(200)))
    assert results.count(True) == 10
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits, quota.remaining) == (10, 0, 0)

    await store.grant_credits(owner, 5)
    results = await asyncio.gather(*(store.reserve_quota(owner, 1) for _ in range(200)))
    assert results.count(True) == 5
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits, quota.remaining) == (10, 0, 0)


async def test_extra_credits_after_the_daily_limit_and_the_daily_reset(store: Store) -> None:
    owner = await user_id(store)
    quota = await store.quota(owner)
    assert quota.daily_limit == 50 and quota.reset_at == next_midnight(datetime.now(UTC))
    await store.set_daily_limit(owner, 3)
    assert (await store.grant_credits(owner, 2)).remaining == 5
    now = quota.reset_at - timedelta(hours=5)

    assert await store.reserve_quota(owner, 2, now)
    assert await store.reserve_quota(owner, 2, now)  # 1 from today, 1 extra credit
    quota = await store.quota(owner, now)
    assert (quota.used_today, quota.extra_credits) == (3, 1)
    assert not await store.reserve_quota(owner, 2, now)
    assert await store.reserve_quota(owner, 1, now)
    assert not await store.reserve_quota(owner, 1, quota.reset_at - timedelta(seconds=1))

    # at the reset time: today's use goes back to zero and the next reset is a day later
    assert await store.reserve_quota(owner, 1, quota.reset_at)
    after = await store.quota(owner, quota.reset_at)
    assert (after.used_today, after.extra_credits) == (1, 0)
    assert after.reset_at == quota.reset_at + timedelta(days=1)
    # quota() itself resets when due
    later = await store.quota(owner, after.reset_at + timedelta(hours=1))
    assert later.used_today == 0 and later.reset_at == after.reset_at + timedelta(days=1)

    # a limit lowered below today's use does not hand out anything nor undo the use
    await store.reset_quota(owner)
    assert await store.reserve_quota(owner, 3)
    await store.set_daily_limit(owner, 1)
    await store.grant_credits(owner, 2)
    assert not await store.reserve_quota(owner, 3)
    assert await store.reserve_quota(owner, 2)
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits, quota.remaining) == (3, 0, 0)
    assert (await store.grant_credits(owner, -5)).extra_credits == 0

    with pytest.raises(ValueError):
        await store.reserve_quota(owner, -1)
    with pytest.raises(ValueError):
        await store.reserve_quota(owner, 1, datetime(2030, 1, 1))  # naive
    assert not await store.reserve_quota(9999, 1)


_users = itertools.count(1000)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # a new user per example
)
@given(
    limit=st.integers(0, 6),
    operations=st.lists(
        st.tuples(st.sampled_from(["reserve", "refund", "grant", "limit"]), st.integers(0, 5)),
        max_size=10,
    ),
)
async def test_quota_arithmetic_matches_a_model(
    store: Store, limit: int, operations: list[tuple[str, int]]
) -> None:
    owner = await user_id(store, next(_users))
    now = (await store.set_daily_limit(owner, limit)).reset_at - timedelta(hours=1)
    used = extra = 0
    for operation, amount in operations:
        if operation == "reserve":
            daily_left = max(limit - used, 0)
            expected = daily_left + extra >= amount
            if expected:
                taken = min(daily_left, amount)
                used, extra = used + taken, extra - (amount - taken)
            assert await store.reserve_quota(owner, amount, now) is expected
        elif operation == "refund":
            back = min(used, amount)
            used, extra = used - back, extra + amount - back
            await store.refund_quota(owner, amount)
        elif operation == "grant":
            extra += amount
            await store.grant_credits(owner, amount)
        else:
            limit = amount
            await store.set_daily_limit(owner, amount)
        quota = await store.quota(owner, now)
        assert (quota.daily_limit, quota.used_today, quota.extra_credits) == (limit, used, extra)


async def test_refunds(store: Store) -> None:
    owner = await user_id(store)
    await store.set_daily_limit(owner, 5)
    assert await store.reserve_quota(owner, 3)
    await store.refund_quota(owner, 2)
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits) == (1, 0)
    await store.refund_quota(owner, 4)  # more than used today: the rest becomes credits
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits) == (0, 3)
    assert (await store.reset_quota(owner)).used_today == 0
    with pytest.raises(StoreError):
        await store.refund_quota(9999, 1)


async def test_failed_and_cancelled_jobs_refund_exactly_once(store: Store) -> None:
    owner = await user_id(store)
    await store.set_daily_limit(owner, 10)
    assert await store.reserve_quota(owner, 6)

    failing = await running_job(store, owner, cost=2)
    assert await store.mark_failed(failing, "out of memory")
    assert not await store.mark_failed(failing, "again")
    assert not await store.cancel_job(failing)
    assert (await store.quota(owner)).used_today == 4
    job = await store.get_job(failing)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error == "out of memory" and job.finished_at is not None

    queued = await store.create_job(owner, request(), {}, 3)
    assert await store.cancel_job(queued.id)
    assert not await store.cancel_job(queued.id)
    assert not await store.mark_failed(queued.id, "late")
    assert (await store.quota(owner)).used_today == 1
    assert (await store.get_job(queued.id)).status is JobStatus.CANCELLED

    running = await running_job(store, owner, cost=1)
    assert not await store.cancel_job(running)  # only queued jobs can be cancelled
    assert await store.mark_failed(running, "boom")
    assert (await store.quota(owner)).used_today == 0

    concurrent = await store.create_job(owner, request(), {}, 4)
    results = await asyncio.gather(
        *(store.cancel_job(concurrent.id) for _ in range(5)),
        *(store.mark_failed(concurrent.id, "x") for _ in range(5)),
    )
    assert results.count(True) == 1
    quota = await store.quota(owner)
    assert (quota.used_today, quota.extra_credits) == (0, 4)


# jobs, images, history


async def test_job_life_cycle(store: Store) -> None:
    owner = await user_id(store)
    other = await user_id(store, 2)
    img2img = request(task=Task.IMG2IMG, init_image=PICTURE, strength=0.5)
    mix = request(
        task=Task.MIX,
        prompt="",
        mix=(MixItem(0.3, text="a cat"), MixItem(0.7, image=OTHER_PICTURE)),
    )
    created = await store.create_job(owner, img2img, {"chat": 1, "reply_to": 9}, 1)
    assert created.status is JobStatus.QUEUED and created.attempts == 0
    assert created.request == img2img and created.destination == {"chat": 1, "reply_to": 9}
    mixed = await store.create_job(owner, mix, {"chat": 1}, 1)
    foreign = await store.create_job(other, request(), {"chat": 2}, 1)
    loaded = await store.get_job(mixed.id)
    assert loaded is not None and loaded.request == mix
    assert loaded.request.mix[1].image == OTHER_PICTURE
    assert await store.get_job(9999) is None
    with pytest.raises(StoreError):
        await store.create_job(9999, request(), {}, 1)

    await store.set_progress_ref(created.id, {"message": 77})
    with pytest.raises(StoreError):
        await store.set_progress_ref(9999, {})

    assert await store.count_active() == 3
    assert await store.count_active(owner) == 2
    assert [job.id for job in await store.jobs(ACTIVE)] == [created.id, mixed.id, foreign.id]
    assert [job.id for job in await store.jobs(ACTIVE, owner)] == [created.id, mixed.id]

    assert await store.mark_running(created.id)
    assert not await store.mark_running(created.id)
    assert await store.requeue(created.id)
    assert not await store.requeue(created.id)
    assert await store.mark_running(created.id)
    running = await store.get_job(created.id)
    assert running is not None and running.status is JobStatus.RUNNING and running.attempts == 2
    assert running.started_at is not None and running.progress_ref == {"message": 77}
    assert [job.id for job in await store.jobs((JobStatus.QUEUED,))] == [mixed.id, foreign.id]
    assert [job.id for job in await store.jobs((JobStatus.RUNNING,), other)] == []

    pictures = [(png(color="red"), {"seed": 7}), (png(color="green"), {"seed": 8})]
    images = await store.mark_done(created.id, pictures)
    assert [image.recipe for image in images] == [{"seed": 7}, {"seed": 8}]
    for image, (data, _recipe) in zip(images, pictures, strict=True):
        assert image.path.is_absolute() and image.path.is_file()
        assert image.path.read_bytes() == data
        assert image.sha256 == hashlib.sha256(data).hexdigest()
        assert image.path.relative_to(store.data_dir).parts == (
            "images",
            f"{image.created_at:%Y}",
            f"{image.created_at:%m}",
            f"{image.sha256}.png",
        )
        assert image.user_id == owner and image.job_id == created.id
        assert await store.get_image(image.id) == image
        assert await store.read_image(image) == data
    assert not list(images[0].path.parent.glob(".tmp-*"))
    assert await store.get_image(9999) is None
    with pytest.raises(StoreError):
        await store.mark_done(created.id, pictures)  # done already
    with pytest.raises(StoreError):
        await store.mark_done(9999, pictures)

    done = await store.get_job(created.id)
    assert done is not None and done.status is JobStatus.DONE and done.finished_at is not None
    assert done.image_ids == tuple(image.id for image in images)
    assert [job.id for job in await store.jobs((JobStatus.DONE,), owner)] == [created.id]
    assert await store.count_active(owner) == 1

    assert await store.mark_running(mixed.id)
    more = await store.mark_done(mixed.id, [(png(color="blue"), {"seed": 1})])
    page, pages = await store.history(owner, per_page=2)
    assert pages == 2
    assert [image.id for image in page] == [more[0].id, images[1].id]
    page, pages = await store.history(owner, page=2, per_page=2)
    assert [image.id for image in page] == [images[0].id] and pages == 2
    assert await store.history(other) == ([], 0)
    async with store.engine.connect() as connection:
        prompts = (
            await connection.execute(
                select(PromptHistory.job_id, PromptHistory.prompt).order_by(PromptHistory.id)
            )
        ).all()
    assert [tuple(row) for row in prompts] == [(created.id, "a red fox"), (mixed.id, "a cat")]


async def test_same_picture_twice_shares_one_file(store: Store) -> None:
    owner = await user_id(store)
    data = png(color="teal")
    first = await store.mark_done(await running_job(store, owner), [(data, {"n": 1})])
    second = await store.mark_done(await running_job(store, owner), [(data, {"n": 2})])
    assert first[0].path == second[0].path and first[0].id != second[0].id
    assert await store.read_image(second[0]) == data


# admin


async def test_audit_log_newest_first(store: Store) -> None:
    await store.audit("discord:1", "ban", "user 5", "spam", allowed=True)
    await store.audit("telegram:9", "grant", "user 5", "not an admin", allowed=False)
    log = await store.audit_log()
    assert [(entry.actor, entry.action, entry.allowed) for entry in log] == [
        ("telegram:9", "grant", False),
        ("discord:1", "ban", True),
    ]
    assert log[0].target == "user 5" and log[0].detail == "not an admin"
    assert log[0].at.tzinfo is not None and log[0].at >= log[1].at
    assert len(await store.audit_log(limit=1)) == 1


async def test_stats(store: Store) -> None:
    empty = await store.stats()
    assert (empty.users, empty.jobs_by_status, empty.images_today) == (0, {}, 0)
    assert empty.wait_p50 is None and empty.run_p95 is None

    owner = await user_id(store)
    await user_id(store, 2)
    base = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
    timings = [(2, 12), (4, 8), (0, 30)]  # (wait, wait + run) seconds
    done: list[int] = []
    for wait, end in timings:
        job = await running_job(store, owner)
        made = await store.mark_done(job, [(png(color="gray"), {})])
        await set_columns(
            store,
            Job,
            job,
            created_at=base,
            started_at=base + timedelta(seconds=wait),
            finished_at=base + timedelta(seconds=end),
        )
        await set_columns(store, Image, made[0].id, created_at=base)
        done.append(made[0].id)
    await set_columns(store, Image, done[0], created_at=base - timedelta(days=1))
    await store.create_job(owner, request(), {}, 1)
    await store.mark_failed(await running_job(store, owner), "x")

    stats = await store.stats(base + timedelta(hours=3))
    assert stats.users == 2
    assert stats.jobs_by_status == {"done": 3, "queued": 1, "failed": 1}
    assert stats.images_today == 2
    assert stats.wait_p50 == pytest.approx(2.0)  # waits 0, 2, 4
    assert stats.wait_p95 == pytest.approx(3.8)
    assert stats.run_p50 == pytest.approx(10.0)  # runs 4, 10, 30
    assert stats.run_p95 == pytest.approx(28.0)
    assert (await store.stats(base + timedelta(days=1))).images_today == 0


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)


def test_next_midnight() -> None:
    assert next_midnight(datetime(2030, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2031, 1, 1, tzinfo=UTC
    )
    assert next_midnight(datetime(2030, 1, 1, tzinfo=UTC)) == datetime(2030, 1, 2, tzinfo=UTC)


# account linking


async def test_link_code_merges_two_users(store: Store) -> None:
    ann = await store.ensure_user("discord", "1", "ann")
    ann_tg = await store.ensure_user("telegram", "100", "ann on telegram")
    assert ann_tg.id != ann.id
    await store.grant_credits(ann.id, 2)
    await store.grant_credits(ann_tg.id, 3)
    await store.reserve_quota(ann_tg.id, 10)
    first = await store.mark_done(await running_job(store, ann.id), [(png(color="red"), {})])
    second = await store.mark_done(await running_job(store, ann_tg.id), [(png(color="blue"), {})])
    queued = await store.create_job(ann_tg.id, request(), {"chat": 3}, 1)

    expires = datetime.now(UTC) + timedelta(minutes=10)
    await store.create_link_code(ann.id, "ABC123", expires)
    with pytest.raises(StoreError):
        await store.create_link_code(ann.id, "ABC123", expires)
    with pytest.raises(StoreError):
        await store.create_link_code(9999, "XYZ", expires)
    assert await store.redeem_link_code("WRONG", "telegram", "100", "ann") is None

    merged = await store.redeem_link_code("ABC123", "telegram", "100", "ann (tg)")
    assert merged is not None and merged.id == ann.id
    with pytest.raises(StoreError):
        await store.get_user(ann_tg.id)
    assert await store.find_user("telegram", "100") == merged
    accounts = await store.accounts(ann.id)
    assert [(a.platform, a.platform_user_id, a.name) for a in accounts] == [
        ("discord", "1", "ann"),
        ("telegram", "100", "ann (tg)"),
    ]
    images, pages = await store.history(ann.id)
    assert [image.id for image in images] == [second[0].id, first[0].id] and pages == 1
    assert [job.id for job in await store.jobs(ACTIVE, ann.id)] == [queued.id]
    quota = await store.quota(ann.id)
    assert quota.extra_credits == 5 and quota.used_today == 0
    async with store.engine.connect() as connection:
        owners = (await connection.execute(select(PromptHistory.user_id))).scalars().all()
    assert set(owners) == {ann.id}

    # single use
    assert await store.redeem_link_code("ABC123", "telegram", "100", "ann") is None


async def test_link_code_for_a_new_account_and_expiry(store: Store) -> None:
    ann = await store.ensure_user("discord", "1", "ann")
    now = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    await store.create_link_code(ann.id, "NEW", now + timedelta(minutes=5))
    linked = await store.redeem_link_code("NEW", "telegram", "7", "ann", now=now)
    assert linked is not None and linked.id == ann.id
    assert await store.find_user("telegram", "7") == linked

    await store.create_link_code(ann.id, "OLD", now + timedelta(minutes=5))
    assert (
        await store.redeem_link_code("OLD", "telegram", "8", "x", now + timedelta(hours=1)) is None
    )
    assert await store.redeem_link_code("OLD", "telegram", "8", "x", now=now) is None  # deleted
    assert await store.find_user("telegram", "8") is None

    # the account that made the code redeeming it changes nothing
    await store.create_link_code(ann.id, "SELF", now + timedelta(minutes=5))
    assert await store.redeem_link_code("SELF", "discord", "1", "ann", now=now) == linked

    # expired codes are cleared when any code is redeemed
    await store.create_link_code(ann.id, "STALE", now - timedelta(minutes=1))
    await store.create_link_code(ann.id, "LIVE", now + timedelta(minutes=1))
    assert await store.redeem_link_code("NOPE", "telegram", "9", "x", now=now) is None
    async with store.engine.connect() as connection:
        codes = (await connection.execute(text("SELECT code FROM link_codes"))).scalars().all()
    assert codes == ["LIVE"]


async def test_banned_user_merged_by_linking_stays_banned(store: Store) -> None:
    ann = await store.ensure_user("discord", "1", "ann")
    troll = await store.ensure_user("telegram", "2", "troll")
    await store.set_ban(troll.id, True, "abuse")
    await store.create_link_code(ann.id, "CODE", datetime.now(UTC) + timedelta(minutes=5))
    merged = await store.redeem_link_code("CODE", "telegram", "2", "troll")
    assert merged is not None and merged.banned and merged.ban_reason == "abuse"


# telling owners how their jobs ended


async def test_a_finished_job_is_told_once_and_untold_ones_are_found(store: Store) -> None:
    owner = (await store.ensure_user("test", "tia", "tia")).id
    request = GenerationRequest(prompt="a heron")
    done = await store.create_job(owner, request, {"platform": "test"}, 1)
    failed = await store.create_job(owner, request, {"platform": "test"}, 1)
    cancelled = await store.create_job(owner, request, {"platform": "test"}, 1)
    waiting = await store.create_job(owner, request, {"platform": "test"}, 1)
    assert await store.mark_running(done.id)
    await store.mark_done(done.id, [(png(), {"seed": 1})])
    assert await store.mark_failed(failed.id, "internal")
    assert await store.cancel_job(cancelled.id)
    assert [job.id for job in await store.untold_jobs()] == [done.id, failed.id]
    assert (await store.untold_jobs())[0].image_ids  # with its pictures, to send them

    claims = await asyncio.gather(*(store.claim_telling(done.id) for _ in range(5)))
    assert sorted(claims) == [False] * 4 + [True]
    assert [job.id for job in await store.untold_jobs()] == [failed.id]
    assert await store.claim_telling(failed.id) and not await store.claim_telling(failed.id)
    assert await store.untold_jobs() == []
    assert waiting.id not in {job.id for job in await store.untold_jobs()}
    long_ago = datetime.now(UTC) - timedelta(days=2)
    await set_columns(store, Job, failed.id, told_at=None, finished_at=long_ago)
    assert await store.untold_jobs() == []  # too old to send out of the blue
    assert [j.id for j in await store.untold_jobs(within=timedelta(days=3))] == [failed.id]


async def test_upgrading_counts_jobs_that_ended_before_as_told(db_url: str, tmp_path: Path) -> None:
    """Revision 0002 must not make the bot resend every old result."""
    from alembic import command

    from storage.migrate import alembic_config

    store = await Store.open(db_url, tmp_path / "data")
    try:
        owner = (await store.ensure_user("test", "uma", "uma")).id
        old = await store.create_job(owner, GenerationRequest(prompt="x"), {"platform": "t"}, 1)
        assert await store.mark_failed(old.id, "internal")

        def downgrade_then_upgrade(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            assert "told_at" not in {c["name"] for c in inspect(connection).get_columns("jobs")}
            command.upgrade(config, "head")

        async with store.engine.begin() as connection:
            await connection.run_sync(downgrade_then_upgrade)
        assert await store.untold_jobs() == []
        assert not await store.claim_telling(old.id)
    finally:
        await store.close()


def test_the_head_revision_is_read_without_alembic() -> None:
    """The fast start-up check agrees with Alembic's own idea of the newest script."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
