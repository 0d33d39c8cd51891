"""Nothing lost at the edge: what arrives is stored before it is acknowledged, handled once.

The inbox and job sources on SQLite and PostgreSQL; the bot handling one command twice; and
`kandinsky-bot run` as a real process, pointed at the fake Telegram, killed with SIGKILL
right after its first "Queued" (long polling) or right after a webhook's 200, then
restarted on the same database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot.app.settings import Settings
from storage.records import JobStatus
from storage.store import Store
from tests.botkit import FakeGenerator, cmd, make_bot
from tests.fake_telegram import Call, FakeTelegram, User
from tests.helpers import small, stop_process

TOKEN = "123456:TEST-TOKEN-abcdef"
SMALL = "--size 64x64 --steps 2 --prior-steps 2"
USERS = [User(21 + n, f"User{n}", f"user{n}", "en") for n in range(5)]
RESULTS = ("sendPhoto", "sendDocument", "sendMediaGroup")
ANSWERED_WITHIN = 300.0
"""Seconds the restarted bot has to answer every request (ten tiny jobs take far less)."""


# -- the inbox and job sources --------------------------------------------------------------
async def test_the_inbox_keeps_each_delivery_once_until_it_is_handled(store: Store) -> None:
    first = await store.receive("telegram", [("7", '{"update_id": 7}'), ("8", "{}")])
    assert [(e.key, e.attempts) for e in first] == [("7", 1), ("8", 1)]
    assert first[0].id < first[1].id
    again = await store.receive("telegram", [("8", "{}"), ("9", "{}"), ("9", "{}")])
    assert [e.key for e in again] == ["9"], "a key stored before is not handed out again"
    assert [e.key for e in await store.receive("discord", [("7", "{}")])] == ["7"]

    taken = await store.take_unhandled("telegram")
    assert [(e.key, e.attempts, e.payload) for e in taken][:1] == [("7", 2, '{"update_id": 7}')]
    assert [e.key for e in taken] == ["7", "8", "9"]
    assert await store.mark_handled(taken[0].id)
    assert not await store.mark_handled(taken[0].id), "handled once"
    assert await store.mark_handled(taken[1].id, "given up")
    assert [(e.key, e.attempts) for e in await store.take_unhandled("telegram")] == [("9", 3)]

    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await store.forget_handled("telegram", later) == 2
    assert await store.receive("telegram", [("7", "{}")]), "forgotten: a new delivery"
    assert [e.key for e in await store.take_unhandled("discord")] == ["7"]


async def new_user(store: Store, number: int) -> int:
    return (await store.ensure_user("telegram", str(number), f"user {number}")).id


async def test_a_job_is_admitted_once_per_source(store: Store) -> None:
    owner = await new_user(store, 1)
    caps = {"queue_size": 100, "user_queue": 100}
    admitted = await store.admit_job(owner, small(), {}, 2, source="telegram:update:7", **caps)
    assert admitted.job is not None and not admitted.duplicate
    assert admitted.job.source == "telegram:update:7"
    # Handled again: the same job, nothing taken, whatever the caps or the pause say now.
    await store.set_pause("maintenance")
    again = await store.admit_job(
        owner, small(), {}, 2, source="telegram:update:7", queue_size=0, user_queue=0
    )
    assert again.duplicate and again.refusal is None
    assert again.job is not None and again.job.id == admitted.job.id
    assert (await store.quota(owner)).used_today == 2
    await store.set_pause(None)
    other = await store.admit_job(owner, small(), {}, 1, source="telegram:update:8", **caps)
    assert other.job is not None and other.job.id != admitted.job.id and not other.duplicate
    for _ in range(2):  # no source: every admission is its own
        assert not (await store.admit_job(owner, small(), {}, 1, **caps)).duplicate
    assert len(await store.jobs(tuple(JobStatus))) == 4
    assert (await store.quota(owner)).used_today == 5


async def test_racing_admissions_of_one_source_store_one_job(stores: tuple[Store, Store]) -> None:
    first, second = stores
    owner = await new_user(first, 1)
    caps = {"queue_size": 100, "user_queue": 100}
    admissions = await asyncio.gather(
        *(
            store.admit_job(owner, small(), {}, 1, source="discord:interaction:5", **caps)
            for store in (first, second) * 4
        )
    )
    assert sorted(a.duplicate for a in admissions) == [False] + [True] * 7
    assert len({a.job.id for a in admissions if a.job is not None}) == 1
    assert (await first.quota(owner)).used_today == 1


async def test_a_command_handled_twice_makes_one_job_and_one_answer(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    command = cmd("ann", "imagine", "a fox --size 64x64", source="test:update:1")
    await kit.bot.handle(command)
    await kit.bot.handle(command)  # taken over after a crash between the job and the inbox
    await asyncio.wait_for(kit.idle(), 30)
    await kit.queue.stop()
    (job,) = await store.jobs(tuple(JobStatus))
    assert job.status is JobStatus.DONE and job.source == "test:update:1"
    queued = [text for _, text, _ in kit.replier.progress if text.startswith("Queued")]
    assert len(queued) == 1 and len(kit.replier.images) == 1
    user = await store.find_user("test", "ann")
    assert user is not None and (await store.quota(user.id)).used_today == 1


# -- the bot process, killed -----------------------------------------------------------------
@dataclass
class Request:
    chat: int
    message: int


@asynccontextmanager
async def bot_process(
    settings: Settings, database: str, data: Path, fake: FakeTelegram, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kandinsky-bot run` with Telegram on the fake; stopped (SIGTERM) on the way out."""
    log = data.parent / "bot.log"
    variables = {
        **os.environ,
        "KBOT_TELEGRAM_TOKEN": TOKEN,
        "KBOT_TELEGRAM_BASE_URL": fake.base_url,
        "KBOT_DATABASE_URL": database,
        "KBOT_DATA_DIR": str(data),
        "KBOT_MODELS": str(settings.models),
        "KBOT_DEVICE": "cpu",
        "KBOT_PROGRESS_INTERVAL": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **env,
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", stdout=out, stderr=out, env=variables
        )
    try:
        yield process
    finally:
        await stop_process(process)


def log_of(data: Path) -> str:
    return (data.parent / "bot.log").read_text(errors="replace")[-4000:]


def replies(fake: FakeTelegram, request: Request, methods: tuple[str, ...]) -> list[Call]:
    return [
        call
        for call in fake.calls
        if call.method in methods
        and call.chat_id == request.chat
        and call.reply_to == request.message
        and call.result is not None
        and not isinstance(call.result, str)
    ]


def queued(fake: FakeTelegram, request: Request) -> list[Call]:
    """The "Queued" answers to a request (counted whether or not the bot lived to see them)."""
    return [
        call
        for call in fake.find("sendMessage", chat_id=request.chat)
        if call.reply_to == request.message and call.params["text"].startswith("Queued as job")
    ]


def answered(fake: FakeTelegram, request: Request) -> bool:
    """A picture, or a refusal with its reason (any text but "Queued" and restart notices)."""
    texts = [call.params["text"] for call in replies(fake, request, ("sendMessage",))]
    refused = [t for t in texts if not t.startswith(("Queued as job", "The bot restarted"))]
    return bool(replies(fake, request, RESULTS) or refused)


async def wait_answered(fake: FakeTelegram, requests: list[Request]) -> int:
    """Wait until every request is answered (or `ANSWERED_WITHIN` passed); how many are."""
    deadline = time.monotonic() + ANSWERED_WITHIN
    while time.monotonic() < deadline:
        if all(answered(fake, request) for request in requests):
            break
        await asyncio.sleep(0.1)
    return sum(answered(fake, request) for request in requests)


async def figures(database: str, data: Path) -> tuple[int, int, int]:
    """Jobs stored, images made and quota used, over the test's users."""
    store = await Store.open(database, data)
    try:
        jobs = len(await store.jobs(tuple(JobStatus)))
        async with store.engine.connect() as db:
            images = int(await db.scalar(sql("SELECT count(*) FROM images")) or 0)
        used = 0
        for user in USERS:
            found = await store.find_user("telegram", str(user.id))
            used += (await store.quota(found.id)).used_today if found else 0
        return jobs, images, used
    finally:
        await store.close()


async def unhandled_updates(database: str, data: Path) -> int:
    store = await Store.open(database, data)
    try:
        async with store.engine.connect() as db:
            query = sql("SELECT count(*) FROM inbox WHERE done_at IS NULL")
            return int(await db.scalar(query) or 0)
    finally:
        await store.close()


@pytest.mark.slow
async def test_sigkill_after_the_first_queued_of_a_batch_loses_nothing(
    tiny_settings: Settings, db_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with FakeTelegram(TOKEN) as fake:
        requests = [
            Request(user.id, fake.text(user.id, user, f"/imagine request {n} --seed {n} {SMALL}"))
            for n, user in enumerate(USERS * 2)
        ]
        killed: list[Call] = []
        async with bot_process(tiny_settings, db_url, data, fake) as first:

            def kill_at_first_queued(call: Call) -> None:
                text = str(call.params.get("text") or "")
                if call.method == "sendMessage" and text.startswith("Queued") and not killed:
                    first.kill()  # SIGKILL, before the reply is even answered
                    killed.append(call)

            fake.on_call = kill_at_first_queued
            await asyncio.wait_for(first.wait(), 180)
        fake.on_call = None
        assert killed and first.returncode == -signal.SIGKILL, log_of(data)
        batches = [call.result for call in fake.find("getUpdates") if call.result]
        assert len(batches[0]) == 10, "the ten requests came in one batch"
        stored_before = await figures(db_url, data)
        left = await unhandled_updates(db_url, data)

        async with bot_process(tiny_settings, db_url, data, fake):
            count = await wait_answered(fake, requests)
        jobs, images, used = await figures(db_url, data)
        assert count == 10, (
            f"{10 - count} of 10 requests lost after the restart; "
            f"jobs {jobs}, images {images}, quota used {used}\n{log_of(data)}"
        )
    for request in requests:
        assert len(replies(fake, request, RESULTS)) == 1, "one picture each, none twice"
        assert len(queued(fake, request)) <= 1, "told it is queued once at most"
    assert (jobs, images, used) == (10, 10, 10), "quota used equals images made"
    # Killed while the first "Queued" was on its way: no update was handled yet, some jobs
    # were stored (and were not stored again after the restart).
    assert left == 10 and stored_before[0] >= 1 and stored_before[2] == stored_before[0]
    assert await unhandled_updates(db_url, data) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_an_update_the_webhook_took_survives_a_sigkill(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    """The webhook answers 200 only once the update is stored: killed right after, the
    restarted bot still answers it."""
    data, port = tmp_path / "data", free_port()
    database = f"sqlite+aiosqlite:///{data / 'kbot.db'}"
    hook = {
        "KBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
        "KBOT_TELEGRAM_LISTEN": f"127.0.0.1:{port}",
    }
    local = f"http://127.0.0.1:{port}/telegram/hook"
    alice = USERS[0]
    async with FakeTelegram(TOKEN) as fake:
        async with bot_process(tiny_settings, database, data, fake, **hook) as first:
            (webhook,) = await fake.wait(lambda: fake.find("setWebhook"), within=120)
            secret = webhook.params["secret_token"]
            await fake.wait(lambda: fake.find("setMyCommands"), within=60, what="menus")
            asked = Request(alice.id, fake.text(alice.id, alice, "/quota"))

            def kill_at_the_answer(call: Call) -> None:
                if call.method == "sendMessage" and call.reply_to == asked.message:
                    fake.on_call = None
                    first.kill()  # the update was stored (200); its answer is cut off

            fake.on_call = kill_at_the_answer
            assert await fake.post_updates(local, "not-the-secret") == [403]
            assert await fake.post_updates(local, secret) == [200]
            await asyncio.wait_for(first.wait(), 120)
        fake.on_call = None
        assert first.returncode == -signal.SIGKILL, log_of(data)
        left = await unhandled_updates(database, data)

        restarted = fake.mark()
        async with bot_process(tiny_settings, database, data, fake, **hook):
            answer = await fake.answer(
                asked.chat, asked.message, ("sendMessage",), after=restarted, within=120
            )
            assert "Today you have used" in answer.params["text"]
            assert (await fake.wait(lambda: fake.find("setWebhook", after=restarted)))[0].params[
                "secret_token"
            ] == secret, "every start (and every frontend) uses the same secret"
    assert left == 1 and await unhandled_updates(database, data) == 0
