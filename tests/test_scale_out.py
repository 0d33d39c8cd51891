"""Two frontends and two workers on one PostgreSQL agree on everything that is shared.

The frontends are two composition roots (`running_bot`), each with its own database pool,
as two `kandinsky-bot run --no-worker` processes would be (tests/test_distributed.py runs that
process for real and checks it loads no torch); the workers are `kandinsky-bot worker`
processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.app.root import App, running_bot
from bot.app.settings import Settings
from storage.records import ACTIVE
from tests.botkit import FakeReplier, cmd
from tests.cluster import Cluster, cluster_fixture

SMALL = "--size 64x64 --steps 2 --prior-steps 2 --model 2.2"

cluster = cluster_fixture(workers=2)


def _settings(cluster: Cluster) -> Settings:
    return dataclasses.replace(
        cluster.settings(), admins=frozenset({"test:root"}), user_queue=5, queue_size=100
    )


def _queued(replier: FakeReplier, user: str) -> int:
    """How many "Queued" answers `user` got (each starts the job's progress message)."""
    return sum(
        text.startswith("Queued as job #") for who, text, _ in replier.progress if who == user
    )


@asynccontextmanager
async def frontends(cluster: Cluster) -> AsyncIterator[list[tuple[App, FakeReplier]]]:
    """Two frontends on the cluster's database, their queues started."""
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(2):
            app = await stack.enter_async_context(running_bot(_settings(cluster)))
            replier = FakeReplier()
            app.repliers["test"] = replier
            await app.queue.start()
            found.append((app, replier))
        yield found


async def test_pause_on_one_frontend_stops_intake_on_both(cluster: Cluster) -> None:
    async with frontends(cluster) as [(one, said_one), (two, said_two)]:
        await one.bot.handle(cmd("root", "admin", "pause back at noon"))
        await two.bot.handle(cmd("pia", "imagine", f"a kite {SMALL}"))
        assert said_two.said("pia")[-1] == "The bot is not taking new jobs right now: back at noon"
        assert await two.store.jobs(ACTIVE) == []
        await two.bot.handle(cmd("root", "admin", "resume"))
        await one.bot.handle(cmd("pia", "imagine", f"a kite {SMALL}"))
        assert _queued(said_one, "pia") == 1
        await one.queue.wait_idle()


async def test_a_burst_through_both_frontends_admits_the_per_user_cap(cluster: Cluster) -> None:
    cluster.freeze()  # nothing starts: every admitted job stays queued
    try:
        async with frontends(cluster) as [(one, said_one), (two, said_two)]:
            await asyncio.gather(
                *(
                    app.bot.handle(cmd("max", "imagine", f"fox {n} {SMALL}"))
                    for n in range(20)
                    for app in (one, two)
                )
            )
            assert _queued(said_one, "max") + _queued(said_two, "max") == 5
            refused = said_one.said("max") + said_two.said("max")
            assert len(refused) == 35
            assert all(re.search(r"You already have 5 jobs", text) for text in refused), refused
            user = await one.store.find_user("test", "max")
            assert user is not None
            assert len(await one.store.jobs(ACTIVE, user.id)) == 5
            assert (await two.store.quota(user.id)).used_today == 5
            cluster.thaw()
            await one.queue.wait_idle()
            await two.queue.wait_idle()
    finally:
        cluster.thaw()


async def test_admin_models_on_either_frontend_lists_every_worker(cluster: Cluster) -> None:
    host = socket.gethostname()
    names = sorted(f"{host}:{worker.pid}:cpu" for worker in cluster.live_workers())
    async with frontends(cluster) as pair:
        for app, replier in pair:
            await app.bot.handle(cmd("root", "admin", "models"))
            lines = replier.said("root")[-1].splitlines()
            listed = sorted(line.split(" ")[0] for line in lines if " serves " in line)
            assert listed == names
