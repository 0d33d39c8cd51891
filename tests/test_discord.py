"""The Discord adapter end to end: the real discord.py client, the whole bot on tiny models,
and a fake Discord (REST, gateway, CDN) over TLS on 127.0.0.1 (see tests/fake_discord.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from PIL import Image

from adapters.discord.adapter import DiscordAdapter, sync_commands
from adapters.discord.config import DiscordConfig
from adapters.discord.options import command_text
from adapters.discord.present import fit
from bot.app.root import App, command_menu, running_bot
from bot.app.runner import discord_config
from bot.app.settings import Settings
from bot.chat.command import Command, OutImage
from bot.chat.menu import CommandInfo
from bot.i18n.catalogue import text
from storage.records import JobStatus
from tests.fake_discord import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    Interactions,
    Recorded,
    user,
)
from tests.helpers import mask_png, png

TOKEN = "TEST.TOKEN.discord"
TINY = {"size": "64x64", "steps": 2}
FAST = "--prior-steps 2"
ALICE = user(1001, "alice")  # an admin (KBOT_ADMINS)
BOB = user(1002, "bob")
CAROL = user(1003, "carol")
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
CUSTOM_ID = re.compile(r"kb:(reroll|show|variations|init|edit|report):(\d+)")
LABELS = re.compile(r" · #(\S+)")


@dataclasses.dataclass(frozen=True)
class Made:
    """A result: its first image's stored id (its buttons carry it) and its number."""

    id: int
    label: str


# --------------------------------------------------------------------------- helpers


@dataclasses.dataclass
class World:
    """One running bot with its Discord adapter, talking to the fake."""

    fake: FakeDiscord
    app: App
    adapter: DiscordAdapter
    make: Interactions

    async def ask(self, payload: dict[str, Any]) -> str:
        """Push an interaction; return its token."""
        return await self.fake.interact(payload)

    async def answer(self, token: str) -> str:
        """The text of this interaction's first answer (its response, or what replaced
        "thinking")."""
        record = await self.fake.wait_for(lambda r: _is_first_answer(r, token))
        return str(_original(record)["content"])

    async def follow_ups(self, token: str, count: int = 1) -> list[Recorded]:
        """The first `count` accepted follow-ups of this interaction."""
        while len(found := self.fake.find(lambda r: _is_follow_up(r, token))) < count:
            await self.fake.wait_for(lambda r: _is_follow_up(r, token) and r not in found)
        return found[:count]

    async def result(self, token: str) -> Recorded:
        """The follow-up with the pictures."""
        return await self.fake.wait_for(lambda r: _is_follow_up(r, token) and bool(r.files))


def _is_original_edit(record: Recorded, token: str) -> bool:
    return record.status == 200 and bool(
        record.match("PATCH", rf"/webhooks/{APP_ID}/{re.escape(token)}/messages/@original")
    )


def _is_answering_callback(record: Recorded, token: str) -> bool:
    return record.status == 200 and _is_callback(record, token) and record.json["type"] == 4


def _is_first_answer(record: Recorded, token: str) -> bool:
    return _is_answering_callback(record, token) or _is_original_edit(record, token)


def _original(record: Recorded) -> dict[str, Any]:
    """What a first answer says: the response's data, or the edit of "thinking"."""
    return dict(record.json["data"] if "/callback" in record.path else record.json)


def _is_apology(record: Recorded, token: str) -> bool:
    """The error answer: the response itself, or a follow-up after "thinking"."""
    return _is_answering_callback(record, token) or _is_follow_up(record, token)


def _is_follow_up(record: Recorded, token: str) -> bool:
    return record.status == 200 and bool(
        record.match("POST", rf"/webhooks/{APP_ID}/{re.escape(token)}")
    )


def _is_callback(record: Recorded, token: str) -> bool:
    return bool(record.match("POST", rf"/interactions/\d+/{re.escape(token)}/callback"))


def _custom_ids(record: Recorded) -> list[str]:
    rows = record.json.get("components") or []
    return [child["custom_id"] for row in rows for child in row["components"]]


def _made(record: Recorded, action: str = "variations") -> Made:
    label = LABELS.search(record.json["embeds"][0]["description"])
    assert label is not None, record.json
    for custom_id in _custom_ids(record):
        match = CUSTOM_ID.fullmatch(custom_id)
        if match and match.group(1) == action:
            return Made(int(match.group(2)), label.group(1))
    raise AssertionError(f"no {action} button in {_custom_ids(record)}")


def _assert_result(record: Recorded, pictures: int = 1, side: int = 64) -> None:
    """A follow-up with valid PNGs, an embed with the caption and persistent buttons."""
    assert len(record.files) == pictures, record.files
    for upload in record.files:
        picture = Image.open(io.BytesIO(upload.data))
        picture.load()
        assert picture.format == "PNG" and picture.size == (side, side)
    embed = record.json["embeds"][0]
    assert re.search(r"seed \d+ · Kandinsky [\d.]+ · #[\d.]+", embed["description"]), embed
    assert embed["image"]["url"] == f"attachment://{record.files[0].filename}"
    custom_ids = _custom_ids(record)
    assert custom_ids and all(CUSTOM_ID.fullmatch(c) for c in custom_ids), custom_ids
    # Every picture gets the same buttons, acting on it, in a row of its own; the result's
    # Report button has the last row.
    *rows, last = record.json["components"]
    assert len(rows) == pictures, rows
    (report,) = last["components"]
    assert CUSTOM_ID.fullmatch(report["custom_id"]).group(1) == "report", report
    images = set()
    for number, row in enumerate(rows, start=1):
        matches = [CUSTOM_ID.fullmatch(child["custom_id"]) for child in row["components"]]
        found = [match.groups() for match in matches if match]
        # Edit too: family 5 is configured
        assert [action for action, _ in found] == ["reroll", "show", "variations", "init", "edit"]
        (image,) = {image for _, image in found}
        images.add(image)
        suffix = f" {number}" if pictures > 1 else ""
        labels = [child["label"] for child in row["components"]]
        assert labels == [f"{label}{suffix}" for label in ("🔄", "ℹ️", "V", "⤴", "✏️")]
    assert len(images) == pictures


@contextlib.asynccontextmanager
async def running(settings: Settings, fake: FakeDiscord, **changes: Any) -> AsyncIterator[World]:
    """The bot as production builds it, with the connector to the fake injected (and the
    adapter's configuration changed by `changes`)."""
    async with running_bot(settings) as app:
        config = dataclasses.replace(discord_config(settings, command_menu()), **changes)
        adapter = DiscordAdapter(app.bot.handle, config, connector=fake.connector())
        app.repliers[adapter.platform] = adapter
        await app.queue.start()
        identified = len(fake.identified)
        task = asyncio.create_task(adapter.run())
        try:
            await fake.connected(identified + 1)
            yield World(fake, app, adapter, Interactions())
            await asyncio.wait_for(app.idle(), 60)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert adapter.client is None


@pytest.fixture
def settings(tiny_settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        tiny_settings,
        data_dir=tmp_path / "data",
        discord_token=TOKEN,
        discord_guilds=(GUILD_ID,),
        admins=frozenset({"discord:1001"}),
        progress_interval=0.0,
        user_queue=50,
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log line; the test fails on an error logged anywhere or the token in a line."""
    caplog.set_level(logging.INFO)
    for name in ("discord", "adapters"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any(r.name.startswith("discord.gateway") for r in records)  # captured indeed
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        assert TOKEN not in text, f"the token was logged by {record.name}"
    errors = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    assert not errors, errors


def _pictures() -> dict[str, bytes]:
    hole = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    hole.paste((0, 0, 0, 0), (16, 16, 48, 48))
    buffer = io.BytesIO()
    hole.save(buffer, format="PNG")
    return {"photo": png((96, 64)), "mask": mask_png(), "hole": buffer.getvalue()}


# ----------------------------------------------------------------------------- tests


async def test_every_command_end_to_end(settings: Settings, logs: pytest.LogCaptureFixture) -> None:
    pictures = _pictures()
    async with FakeDiscord(TOKEN) as fake:
        async with running(settings, fake) as world:
            await _check_start(world)
            ids = await _check_generation(world, pictures)
            await _check_text_commands(world, ids)
            await _check_pictures_refused(world, pictures)
            await _check_init_picture(world, ids, pictures)
            await _check_expired_tokens(world, ids)
        # A restart: a fresh bot and client on the same data, pressing an old button.
        async with running(settings, fake) as world:
            await _check_button_after_restart(world, ids)
        guild_syncs = fake.find(
            lambda r: bool(r.match("PUT", r"/applications/\d+/guilds/\d+/commands"))
        )
        assert len(guild_syncs) == 2  # once per start, in setup_hook; never on READY


async def _check_start(world: World) -> None:
    """Login, READY, one guild sync with every command, intents without privileged ones."""
    fake = world.fake
    assert fake.find(lambda r: bool(r.match("GET", "/users/@me")))
    assert fake.identified[-1]["token"] == TOKEN
    assert fake.identified[-1]["intents"] & PRIVILEGED_INTENTS == 0
    syncs = fake.find(
        lambda r: bool(r.match("PUT", rf"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"))
    )
    names = {command["name"] for command in fake.commands[GUILD_ID]}
    assert names == {
        *("imagine", "img2img", "inpaint", "mix", "depth", "history", "show", "reroll"),
        *("variations", "settings", "quota", "queue", "cancel", "language", "help", "link"),
        *("init", "admin", "Use as init image", "edit", "Edit this image", "animate"),
    }
    admin = next(c for c in fake.commands[GUILD_ID] if c["name"] == "admin")
    assert int(admin["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert {o["name"] for o in admin["options"]} >= {"ban", "stats", "pause", "audit", "preload"}
    imagine = next(c for c in fake.commands[GUILD_ID] if c["name"] == "imagine")
    assert imagine["description"] == "Draw a picture from a prompt."
    options = {o["name"]: o for o in imagine["options"]}
    assert options["count"]["max_value"] == 4 and options["model"]["autocomplete"]
    assert len(syncs) == 1 and fake.commands.get(None) is None  # the guild only, once


async def _check_generation(world: World, p: dict[str, bytes]) -> dict[str, Made]:
    """Every generating command, with pictures from the fake CDN; results, progress, a 429."""
    fake, make = world.fake, world.make
    photo = fake.cdn_file("photo.png", p["photo"])
    imagine = make.slash(
        "imagine",
        ALICE,
        {
            "prompt": f"a fox in the snow {FAST}",
            "model": "2.2",
            "seed": 1,
            "guidance": 4.0,
            "scheduler": "ddim",
            "count": 2,
            **TINY,
        },
    )
    fake.rate_limit_next("POST", rf"/webhooks/{APP_ID}/{imagine['token']}")
    tokens = {"imagine": await world.ask(imagine)}
    requests = {
        "img2img": (
            "img2img",
            {
                "prompt": f"a watercolor fox {FAST}",
                "image": photo,
                "strength": 0.5,
                "negative": "blurry, dark",
            },
        ),
        "inpaint": (
            "inpaint",
            {
                "prompt": f"a red door {FAST}",
                "image": photo,
                "mask": fake.cdn_file("mask.png", p["mask"]),
            },
        ),
        "inpaint_alpha": (
            "inpaint",
            {"prompt": f"a window {FAST}", "image": fake.cdn_file("hole.png", p["hole"])},
        ),
        "mix": ("mix", {"items": f"a cat::0.3 | #1::0.7 {FAST}", "image1": photo}),
        "depth": ("depth", {"prompt": f"a stone tower {FAST}", "image": photo}),
        "depth_init": (
            "depth",
            {
                "prompt": f"a glass tower {FAST}",
                "image": photo,
                "use_as_init": True,
                "strength": 0.5,
            },
        ),
    }
    for key, (name, options) in requests.items():
        tokens[key] = await world.ask(make.slash(name, BOB, {**options, **TINY}))
    small = make.slash("imagine", BOB, {"prompt": f"a lighthouse {FAST}", **TINY}, limit=64)
    tokens["too_large"] = await world.ask(small)
    small_ru = make.slash("imagine", BOB, {"prompt": f"a lighthouse {FAST}", **TINY}, limit=64)
    too_large_ru = await world.ask({**small_ru, "locale": "ru"})

    for key, token in tokens.items():
        queued = await world.answer(token)
        assert re.fullmatch(r"Queued as job #\d+: position \d+, about .+\.", queued), (key, queued)
    ids: dict[str, Made] = {}
    for key, token in tokens.items():
        if key == "too_large":
            continue
        result = await world.result(token)
        _assert_result(result, pictures=2 if key == "imagine" else 1)
        ids[key] = _made(result)

    # The first answer (its job stored first: see the test of that) and the progress
    # message edited in place, throttled.
    token = tokens["imagine"]
    first = await fake.wait_for(lambda r: _is_first_answer(r, token))
    done = await fake.wait_for(
        lambda r: r.method == "PATCH" and token in r.path and "is done" in str(r.json)
    )
    edits = fake.find(lambda r: r.method == "PATCH" and token in r.path)
    shown = [first] + [edit for edit in edits if edit is not first]
    assert edits[-1] is done and len(shown) >= 2
    gaps = [b.at - a.at for a, b in itertools.pairwise(shown)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # at most about one edit a second
    # The 429 was honoured: discord.py waited and sent the follow-up again.
    posts = fake.find(lambda r: bool(r.match("POST", rf"/webhooks/{APP_ID}/{token}")))
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.45
    result = await world.result(token)
    assert "a fox in the snow" in result.json["embeds"][0]["description"]
    assert "seed 1 · Kandinsky 2.2" in result.json["embeds"][0]["description"]

    # Over the interaction's upload limit: a notice instead of the picture.
    notice = await fake.wait_for(lambda r: _is_follow_up(r, tokens["too_large"]))
    assert not notice.files and "too large to upload here" in notice.json["content"]
    # The same notice in the language of the user who asked.
    assert (await world.answer(too_large_ru)).startswith("Задание #")
    notice = await fake.wait_for(lambda r: _is_follow_up(r, too_large_ru))
    assert not notice.files and "слишком большое, чтобы загрузить" in notice.json["content"]
    assert "/show" in notice.json["content"]
    return ids


async def _check_text_commands(world: World, ids: dict[str, Made]) -> None:
    """Every other slash command, the admin group and autocomplete."""
    fake, make = world.fake, world.make
    first = ids["imagine"].label
    assert re.fullmatch(r"\d+\.1", first), "the first of the two pictures its job made"

    async def said(
        name: str,
        options: dict[str, Any] | None = None,
        who: dict[str, Any] = ALICE,
        sub: str | None = None,
    ) -> str:
        return await world.answer(await world.ask(make.slash(name, who, options, sub=sub)))

    assert "Your images, page 1 of" in await said("history", {}, BOB)
    assert "page 1 of 1" in await said("history", {"page": 1}, BOB)
    assert f"Image #{first}: text2img, Kandinsky 2.2, 64x64, seed 1" in await said(
        "show", {"id": first}
    )
    for name in ("reroll", "variations"):  # of a two-picture result: two pictures again
        token = await world.ask(make.slash(name, ALICE, {"id": first}))
        _assert_result(await world.result(token), pictures=2)
    token = await world.ask(
        make.slash("settings", ALICE, {"model": "3", "size": "128x64", "steps": 3})
    )
    assert await world.answer(token) == "Saved."
    (shown,) = await world.follow_ups(token)
    assert "model 3, size 128x64, steps 3" in shown.json["content"]
    assert shown.json["flags"] & 64  # ephemeral, like the deferral
    assert fake.find(lambda r: _is_callback(r, token))[0].json["data"]["flags"] == 64
    assert await said("settings", {"reset": True}) == "Saved."
    assert "Today you have used" in await said("quota")
    assert await said("queue") == "You have no jobs in the queue."
    assert await said("cancel") == "You have no waiting job to cancel."
    assert await said("cancel", {"job": 99999}) == "There is no job #99999."
    assert re.search("[А-Яа-я]", await said("language", {"code": "ru"}))
    assert await said("language", {"code": "en"}) == "I will speak English with you."
    assert "I draw pictures with Kandinsky" in await said("help")
    assert "/imagine a lighthouse at dusk" in await said("help", {"command": "imagine"})
    assert (await said("link", {}, BOB)).startswith("Your link code is ")
    assert "wrong or has expired" in await said("link", {"code": "NOPE1234"}, BOB)
    assert await said("admin", {}, BOB, sub="stats") == "Only admins can do that."
    assert (await said("admin", {}, ALICE, sub="stats")).startswith("Users: ")
    banned = await said("admin", {"user": "<@1002>", "reason": "spam"}, ALICE, sub="ban")
    assert "is banned: spam" in banned
    assert "no longer banned" in await said("admin", {"user": "1002"}, ALICE, sub="unban")
    quota = await said(
        "admin", {"action": "set", "user": "discord:1002", "amount": 30}, ALICE, sub="quota"
    )
    assert "of 30 used today" in quota
    assert "discord:1002" in await said("admin", {"count": 5}, ALICE, sub="audit")

    token = await world.ask(
        make.slash("imagine", ALICE, {"prompt": "a fox", "model": "2"}, focused="model")
    )
    callback = await fake.wait_for(lambda r: _is_callback(r, token))
    assert callback.json["type"] == 8
    assert [c["value"] for c in callback.json["data"]["choices"]] == ["2.1", "2.2"]


async def _check_pictures_refused(world: World, p: dict[str, bytes]) -> None:
    """A text file posing as a PNG, another type, and a picture over the size limit."""
    fake, make = world.fake, world.make
    fake_png = fake.cdn_file("notes.png", b"not a picture at all")
    said = await world.answer(
        await world.ask(make.slash("img2img", BOB, {"prompt": "a fox", "image": fake_png}))
    )
    assert said.endswith("is not a PNG, JPEG or WebP picture"), said
    text_file = fake.cdn_file("notes.txt", b"hello", "text/plain")
    said = await world.answer(
        await world.ask(make.slash("img2img", BOB, {"prompt": "a fox", "image": text_file}))
    )
    assert said == "notes.txt is text/plain, not a PNG, JPEG or WebP picture"
    huge = fake.cdn_file("huge.png", p["photo"], size=50 * 2**20)
    said = await world.answer(
        await world.ask(make.slash("img2img", BOB, {"prompt": "a fox", "image": huge}))
    )
    assert said == "the file huge.png is 50.0 MB; I can download files up to 20 MB"
    # The same refusal in the language a user chose, though Discord speaks English to her.
    await world.answer(await world.ask(make.slash("language", CAROL, {"code": "ru"})))
    said = await world.answer(
        await world.ask(make.slash("img2img", CAROL, {"prompt": "лиса", "image": huge}))
    )
    assert said == "Файл huge.png весит 50.0 МБ; я могу скачивать файлы до 20 МБ"
    used = await world.answer(await world.ask(make.slash("quota", CAROL)))
    assert used.startswith("Сегодня использовано изображений: 0 из"), used  # nothing charged
    assert not [path for path in fake.cdn_requests if path.endswith(("/huge.png", "/notes.txt"))]


async def _check_init_picture(world: World, ids: dict[str, Made], p: dict[str, bytes]) -> None:
    """The message context menu, on one of our results and on someone's picture."""
    fake, make = world.fake, world.make
    ours = fake.message_with(f"kb:init:{ids['img2img'].id}")
    said = await world.answer(await world.ask(make.message_command("Use as init image", ours, BOB)))
    assert said.startswith(f"Image #{ids['img2img'].label} will be the starting picture")
    token = await world.ask(
        make.slash("img2img", BOB, {"prompt": f"a painting {FAST}", "strength": 0.5, **TINY})
    )
    _assert_result(await world.result(token))

    theirs = fake.user_message(ALICE, [fake.cdn_file("cat.png", p["photo"])])
    said = await world.answer(
        await world.ask(make.message_command("Use as init image", theirs, BOB))
    )
    assert said == text("en", "init_set_picture")
    russian = make.message_command("Use as init image", theirs, BOB)
    said = await world.answer(await world.ask({**russian, "locale": "ru"}))
    assert said == text("ru", "init_set_picture") and said.startswith("Эта картинка станет")
    token = await world.ask(make.slash("depth", BOB, {"prompt": f"a cat statue {FAST}", **TINY}))
    _assert_result(await world.result(token))
    assert any(path.endswith("/cat.png") for path in fake.cdn_requests)


async def _check_expired_tokens(world: World, ids: dict[str, Made]) -> None:
    """Discord refuses the token (401): the answers go to the channel, mentioning the user."""
    fake, make = world.fake, world.make
    channel = rf"/channels/{CHANNEL_ID}/messages"
    payload = make.slash("imagine", BOB, {"prompt": f"a late fox {FAST}", **TINY})
    fake.refuse_token(payload["token"])
    await world.ask(payload)
    queued = await fake.wait_for(
        lambda r: bool(r.match("POST", channel)) and "Queued" in str(r.json)
    )
    assert queued.json["content"].startswith("<@1002> Queued as job #")
    assert [int(u) for u in queued.json["allowed_mentions"]["users"]] == [1002]
    posted = await fake.wait_for(lambda r: bool(r.match("POST", channel)) and bool(r.files))
    assert posted.json["content"] == "<@1002>"
    _assert_result(posted)
    await fake.wait_for(
        lambda r: bool(r.match("PATCH", channel + r"/\d+")) and "is done" in str(r.json)
    )
    # An interaction older than 15 minutes is answered in the channel without trying its token.
    old = make.slash("show", BOB, {"id": ids["img2img"].label}, age=timedelta(minutes=20))
    await world.ask(old)
    shown = await fake.wait_for(
        lambda r: bool(r.match("POST", channel)) and "Image #" in str(r.json)
    )
    assert shown.json["content"].startswith(f"<@1002> Image #{ids['img2img'].label}: img2img")
    assert not fake.find(lambda r: old["token"] in r.path and "/webhooks/" in r.path)


async def _check_button_after_restart(world: World, ids: dict[str, Made]) -> None:
    """A button of a result made before the restart still works for its owner; a stranger
    pressing it hears that there is no such image."""
    fake, make = world.fake, world.make
    custom_id = f"kb:variations:{ids['imagine'].id}"
    token = await world.ask(make.press(custom_id, fake.message_with(custom_id), ALICE))
    assert (await world.answer(token)).startswith("Queued as job #")
    _assert_result(await world.result(token), pictures=2)
    stranger = await world.ask(make.press(custom_id, fake.message_with(custom_id), BOB))
    assert await world.answer(stranger) == f"There is no image #{ids['imagine'].label}."
    show = f"kb:show:{ids['img2img'].id}"
    said = await world.answer(await world.ask(make.press(show, fake.message_with(show), BOB)))
    assert said.startswith(f"Image #{ids['img2img'].label}: img2img")


async def test_the_job_row_exists_when_the_first_response_is_sent(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    """Answered in time, the first response is the answer, sent once the job is stored."""
    make = Interactions()
    seen: dict[str, int] = {}
    async with FakeDiscord(TOKEN) as fake, running(settings, fake, answer_within=60.0) as world:

        async def count_jobs(record: Recorded) -> None:
            token = record.path.split("/")[-2]
            if record.method == "POST" and record.path.endswith("/callback"):
                seen[token] = len(await world.app.store.jobs(tuple(JobStatus)))

        fake.on_request = count_jobs
        slash = make.slash("imagine", ALICE, {"prompt": f"a fox {FAST}", **TINY})
        token = await world.ask(slash)
        assert (await world.answer(token)).startswith("Queued as job #1:")
        (response,) = fake.find(lambda r: _is_callback(r, token))
        assert response.json["type"] == 4, "no deferral: the answer is the response"
        assert seen[token] == 1, "the job was stored before Discord heard anything"
        (job,) = await world.app.store.jobs(tuple(JobStatus))
        assert job.source == f"discord:interaction:{slash['id']}"
        _assert_result(await world.result(token))


async def test_a_command_not_answered_in_time_is_deferred_first(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    """Past `answer_within` (here at once) the interaction shows "thinking", then the answer
    replaces it; a private command's deferral is ephemeral."""
    make = Interactions()
    async with FakeDiscord(TOKEN) as fake, running(settings, fake, answer_within=0.0) as world:
        token = await world.ask(make.slash("imagine", BOB, {"prompt": f"a fox {FAST}", **TINY}))
        assert (await world.answer(token)).startswith("Queued as job #")
        (deferral,) = fake.find(lambda r: _is_callback(r, token))
        edit = await fake.wait_for(lambda r: _is_original_edit(r, token))
        assert deferral.json["type"] == 5 and deferral.at < edit.at
        _assert_result(await world.result(token))
        token = await world.ask(make.slash("quota", BOB))
        assert (await world.answer(token)).startswith("Today you have used 1")
        (deferral,) = fake.find(lambda r: _is_callback(r, token))
        assert deferral.json["type"] == 5 and deferral.json["data"]["flags"] == 64


async def test_handler_errors_are_logged_once_and_answered_politely(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(command: Command) -> None:
        raise RuntimeError("the core fell over")

    make = Interactions()
    async with FakeDiscord(TOKEN) as fake:
        config = DiscordConfig(token=TOKEN, commands=command_menu())
        adapter = DiscordAdapter(broken, config, connector=fake.connector())
        task = asyncio.create_task(adapter.run())
        try:
            await fake.connected(1)
            assert fake.commands.get(None)  # no guilds: synced globally
            button = {"type": 2, "style": 2, "label": "🔄", "custom_id": "kb:reroll:5"}
            message = fake.user_message(user(APP_ID, "kandinsky"), [])
            message["components"] = [{"type": 1, "components": [button]}]
            tokens = [
                await fake.interact(make.slash("imagine", ALICE, {"prompt": "x"})),
                await fake.interact(make.press("kb:reroll:5", message, ALICE)),
            ]
            said = [await fake.wait_for(lambda r, t=t: _is_apology(r, t)) for t in tokens]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    for token, answer in zip(tokens, said, strict=True):
        polite = "Something went wrong on our side; please try again in a moment."
        shown = _original(answer) if _is_callback(answer, token) else answer.json
        assert shown["content"] == polite
        assert shown["flags"] == 64  # only the user sees it
        deferred = fake.find(lambda r, t=token: _is_callback(r, t) and r.json["type"] == 5)
        if deferred:  # no "thinking" left behind
            assert fake.find(lambda r, t=token: r.method == "DELETE" and t in r.path)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["adapters.discord.delivery"] * 2  # once per failure
    assert all("the core fell over" in str(r.exc_info[1]) for r in errors if r.exc_info)


async def test_sync_commands_on_demand() -> None:
    async with FakeDiscord(TOKEN) as fake:
        config = DiscordConfig(
            token=TOKEN, commands=command_menu(), guilds=(GUILD_ID, GUILD_ID + 1)
        )
        lines = await sync_commands(config, connector=fake.connector())
    assert [line.split(":")[0] for line in lines] == [
        f"synced 22 commands to guild {GUILD_ID}",
        f"synced 22 commands to guild {GUILD_ID + 1}",
    ]
    assert not fake.identified  # logged in over REST only, no gateway
    assert set(fake.commands) == {GUILD_ID, GUILD_ID + 1}


def test_command_text_uses_the_shared_grammar() -> None:
    from bot.chat.grammar import parse_command_text

    text = command_text(
        "a fox", neg='blurry, "dark"', model="2.2", ar="16:9", seed=4, init=True, n=None
    )
    parsed = parse_command_text(text)
    assert parsed.prompt == "a fox" and parsed.negative_prompt == 'blurry, "dark"'
    assert parsed.aspect == (16, 9) and parsed.seed == 4 and parsed.init


def test_too_large_pictures_are_recompressed_or_left_out() -> None:
    noise = Image.effect_noise((128, 128), 80).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    image = OutImage(buffer.getvalue(), 7, "kandinsky-7.png")
    assert fit(image, len(image.data)) == ("kandinsky-7.png", image.data)
    fitted = fit(image, len(image.data) - 1)
    assert fitted is not None and fitted[0] == "kandinsky-7.jpg"
    assert Image.open(io.BytesIO(fitted[1])).format == "JPEG"
    assert fit(image, 100) is None


async def _ignore(command: Command) -> None:
    del command


def _tree_names(menu: tuple[CommandInfo, ...]) -> set[str]:
    client = DiscordAdapter(_ignore, DiscordConfig(token=TOKEN, commands=menu)).make_client()
    return {c.name for c in client.tree.get_commands(type=discord.AppCommandType.chat_input)}


async def test_the_command_tree_is_the_menu(caplog: pytest.LogCaptureFixture) -> None:
    """Every command of the menu has its slash command, admin ones under /admin; no other."""
    menu = command_menu()
    user_commands = {info.name for info in menu if not info.admin_only}
    assert _tree_names(menu) == {*user_commands, "admin"} == {info.name for info in menu}
    # A command added to the menu without its Discord counterpart is missing from the tree.
    added = (*menu, CommandInfo("frobnicate", "help_help"))
    assert _tree_names(added) != {info.name for info in added}
    assert "/frobnicate has no Discord declaration" in caplog.text
    # And a command the menu leaves out is not offered.
    without = tuple(info for info in menu if info.name not in ("mix", "admin"))
    assert _tree_names(without) == {info.name for info in without}


async def test_options_follow_the_operators_limits(settings: Settings) -> None:
    """Prompt length, steps, suggested sizes and model choices come from the settings."""
    settings = dataclasses.replace(
        settings,
        max_prompt_chars=300,
        max_steps=40,
        max_side=768,
        max_pixels=768 * 576,
        default_size=576,
    )
    make = Interactions()
    async with FakeDiscord(TOKEN) as fake, running(settings, fake) as world:
        commands = {command["name"]: command for command in fake.commands[GUILD_ID]}
        imagine = {option["name"]: option for option in commands["imagine"]["options"]}
        assert imagine["prompt"]["max_length"] == 300
        assert imagine["steps"]["max_value"] == 40
        assert imagine["model"]["description"] == "Kandinsky version: 2.1, 2.2, 3, 5 or 5v"
        settings_steps = next(o for o in commands["settings"]["options"] if o["name"] == "steps")
        assert settings_steps["max_value"] == 40
        preload = next(o for o in commands["admin"]["options"] if o["name"] == "preload")
        choices = [c["value"] for c in preload["options"][0]["choices"]]
        assert choices == ["2.1", "2.2", "3", "5", "5v"]

        token = await world.ask(
            make.slash("imagine", ALICE, {"prompt": "a fox", "size": "x"}, focused="size")
        )
        callback = await fake.wait_for(lambda r: _is_callback(r, token))
        offered = [choice["value"] for choice in callback.json["data"]["choices"]]
        assert offered == ["576x576", "512x512", "768x512", "512x768"]
        assert (
            await world.answer(
                await world.ask(make.slash("imagine", ALICE, {"prompt": "a fox", "steps": 41}))
            )
            == "steps must be between 1 and 40, got 41"
        )


async def test_a_result_is_retried_after_server_errors(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    """discord.py tries a follow-up five times on server errors; then the outbox tries again."""
    async with FakeDiscord(TOKEN) as fake, running(settings, fake) as world:
        ask = world.make.slash("imagine", BOB, {"prompt": f"a stubborn fox {FAST}", **TINY})
        follow_ups = rf"/webhooks/{APP_ID}/{re.escape(ask['token'])}"
        fake.fail_next("POST", follow_ups, 500, times=5)
        token = await world.ask(ask)
        fake.patience = 120.0
        _assert_result(await world.result(token))
        await asyncio.wait_for(world.app.idle(), 60)
        failed = fake.find(lambda r: r.status == 500 and bool(r.match("POST", follow_ups)))
        assert len(failed) == 5
        delivered = fake.find(lambda r: _is_follow_up(r, token) and bool(r.files))
        assert len(delivered) == 1


FIVE = {"model": "5", "size": "64x64", "steps": 2}


def _size(record: Recorded) -> tuple[int, int]:
    """The size of a result's (first) picture."""
    return Image.open(io.BytesIO(record.files[0].data)).size


async def _modal(world: World, token: str) -> dict[str, Any]:
    """The modal an interaction was answered with."""
    record = await world.fake.wait_for(lambda r: _is_callback(r, token))
    assert record.json["type"] == 9, record.json  # MODAL
    return dict(record.json["data"])


async def test_kandinsky_5_and_edits_by_instruction(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    """`/imagine --model 5`; /edit with an attachment or an id; the Edit button and "Edit this
    image" asking with a modal whose answer is the edit, after a restart too; the refusals;
    family 5's sizes suggested once it is chosen."""
    make = Interactions()
    photo = png((96, 64))

    async def said(name: str, options: dict[str, Any], who: dict[str, Any] = ALICE) -> str:
        return await world.answer(await world.ask(make.slash(name, who, options)))

    async with FakeDiscord(TOKEN) as fake:
        async with running(settings, fake) as world:
            token = await world.ask(make.slash("imagine", ALICE, {"prompt": "a fox", **FIVE}))
            fox_result = await world.result(token)
            _assert_result(fox_result)
            assert "Kandinsky 5" in fox_result.json["embeds"][0]["description"]
            fox = _made(fox_result, "edit")
            asking = f"kb:edit:{fox.id}"

            # the Edit button asks with a modal; its answer is the edit
            token = await world.ask(make.press(asking, fake.message_with(asking), ALICE))
            modal = await _modal(world, token)
            assert modal["custom_id"] == asking and modal["title"] == "What should change?"
            (label,) = modal["components"]
            assert label["type"] == 18 and label["component"]["custom_id"] == "instruction"
            answer = make.modal_submit(asking, {"instruction": "make it night --steps 2"}, ALICE)
            token = await world.ask(answer)
            assert (await world.answer(token)).startswith("Queued as job #")
            night = _made(await world.result(token), "edit").label
            assert (await said("show", {"id": night})).startswith(
                f"Image #{night}: edit, Kandinsky 5"
            )

            # /edit with an attachment (the listed size nearest its aspect), and by id
            image = fake.cdn_file("photo.png", photo)
            options = {"instruction": "make it winter", "image": image, "steps": 2}
            winter = await world.result(await world.ask(make.slash("edit", BOB, options)))
            assert _size(winter) == (160, 96)
            options = {"instruction": "add a moon", "id": fox.label, "steps": 2}
            token = await world.ask(make.slash("edit", ALICE, options))
            moon = _made(await world.result(token)).label
            assert (await said("show", {"id": moon})).startswith(f"Image #{moon}: edit")

            # "Edit this image": on one of our results, the same question as the button's
            ours = make.message_command("Edit this image", fake.message_with(asking), ALICE)
            assert (await _modal(world, await world.ask(ours)))["custom_id"] == asking
            # on someone's picture: the picture waits for the answer
            theirs = fake.user_message(BOB, [fake.cdn_file("cat.png", photo)])
            token = await world.ask(make.message_command("Edit this image", theirs, ALICE))
            picture_question = (await _modal(world, token))["custom_id"]
            assert picture_question.startswith("kb:edit:picture:")
            answer = make.modal_submit(picture_question, {"instruction": "make it blue"}, ALICE)
            blue = await world.result(await world.ask({**answer}))
            assert _size(blue) == (160, 96)
            # on a message without a picture: how to give one
            bare = make.message_command("Edit this image", fake.user_message(BOB, []), ALICE)
            assert (await world.answer(await world.ask(bare))).startswith(
                "Which picture should /edit change?"
            )

            # refusals, each with its sentence
            assert (await said("edit", {"instruction": "make it night"})).startswith(
                "Which picture should /edit change? Send a photo"
            )
            for instruction, sentence in [
                (
                    "make it night --strength 0.5",
                    "edit takes no strength: the instruction says what to change; "
                    "leave out --strength",
                ),
                (
                    "make it night --model 2.2",
                    "Kandinsky 2.2 cannot edit by instruction; try model 5",
                ),
            ]:
                options = {"instruction": instruction, "image": image}
                assert await said("edit", options) == sentence
            options = {"prompt": "a watercolor", "image": image, "model": "5"}
            assert (await said("img2img", options)).startswith(
                "Kandinsky 5 changes a picture by instruction, not by strength: use /edit"
            )
            listed = "Kandinsky 5 makes only these sizes: 64x64, 80x176, 176x80, 96x160"
            options = {"prompt": "a cat", "model": "5", "size": "512x512"}
            assert (await said("imagine", options)).startswith(listed)
            answer = make.modal_submit(asking, {"instruction": "make it mine"}, BOB)
            assert await world.answer(await world.ask(answer)) == f"There is no image #{fox.label}."

            # size suggestions: family 5's list once it is chosen, the common sizes before
            for model, offered in [
                ("5", ["64x64", "80x176", "176x80", "96x160", "160x96", "112x144", "144x112"]),
                ("2.2", ["768x768", "512x512", "1024x1024", "768x512"]),
            ]:
                options = {"prompt": "a fox", "model": model, "size": "x"}
                token = await world.ask(make.slash("imagine", ALICE, options, focused="size"))
                callback = await fake.wait_for(lambda r, t=token: _is_callback(r, t))
                choices = [choice["value"] for choice in callback.json["data"]["choices"]]
                assert choices[: len(offered)] == offered, choices

        # after a restart: the question asked before is still answered, the button still asks
        async with running(settings, fake) as world:
            answer = make.modal_submit(asking, {"instruction": "make it rain --steps 2"}, ALICE)
            rain = _made(await world.result(await world.ask(answer))).label
            assert (await said("show", {"id": rain})).startswith(f"Image #{rain}: edit")
            token = await world.ask(make.press(asking, fake.message_with(asking), ALICE))
            assert (await _modal(world, token))["custom_id"] == asking


VIDEO = {"size": "64x64", "steps": 2, "fps": 1}  # 5 s at 1 frame a second: 5 frames


def _assert_video(record: Recorded, frames: int) -> bytes:
    """A follow-up with one .mp4 (H.264, `frames` frames) that plays inline: the embed
    carries the caption but shows no picture."""
    import av

    from generation import video

    (upload,) = record.files
    assert upload.filename.endswith(".mp4"), upload.filename
    with av.open(io.BytesIO(upload.data)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert len(video.decode_frames(upload.data)[0]) == frames
    embed = record.json["embeds"][0]
    assert "Kandinsky 5v" in embed["description"] and "image" not in embed, embed
    matches = [CUSTOM_ID.fullmatch(custom_id) for custom_id in _custom_ids(record)]
    assert {match[1] for match in matches if match} == {"reroll", "show", "report"}
    return upload.data


async def test_animate_sends_an_mp4_that_plays_and_fits_the_upload_limit(
    settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    """/animate with and without an attachment: an H.264 .mp4 follow-up; with the limit set
    low (the fake answers 413 over it) the video is sent smaller, or named when it cannot fit;
    the video's credits are taken from the quota; the refusals."""
    async with FakeDiscord(TOKEN) as fake, running(settings, fake) as world:
        make = world.make
        ask = make.slash("animate", BOB, {"prompt": "a paper boat", "seed": 3, **VIDEO})
        full = _assert_video(await world.result(await world.ask(ask)), 5)
        photo = fake.cdn_file("start.png", png((64, 64)))
        moving = {"prompt": "waves", "image": photo, **VIDEO, "fps": 3}
        _assert_video(await world.result(await world.ask(make.slash("animate", BOB, moving))), 17)
        user_record = await world.app.store.find_user("discord", str(BOB["id"]))
        assert user_record is not None
        assert (await world.app.store.quota(user_record.id)).used_today == 10

        limit = len(full) * 3 // 4
        world.adapter.upload_limit = limit
        fake.upload_limit = limit
        again = make.slash("animate", BOB, {"prompt": "a paper boat", "seed": 3, **VIDEO})
        smaller = await world.result(await world.ask(again))
        assert len(smaller.files[0].data) <= limit < len(full)
        _assert_video(smaller, 5)
        world.adapter.upload_limit = 200
        token = await world.ask(make.slash("animate", BOB, {"prompt": "a paper boat", **VIDEO}))
        (notice,) = await world.follow_ups(token)
        assert "does not fit the 0.0 MB this chat takes" in notice.json["content"], notice.json
        assert not notice.files

        for options, needle in [
            ({"prompt": "waves", "image": photo, **VIDEO}, "needs at least 17 frames"),
            ({"prompt": "a boat", "size": "640x480"}, "makes only these sizes: 64x64"),
            ({"prompt": "a boat", "model": "3"}, "Kandinsky 3 makes pictures, not videos"),
        ]:
            answer = await world.answer(await world.ask(make.slash("animate", BOB, options)))
            assert needle in answer, answer
        assert (await world.app.store.quota(user_record.id)).used_today == 20
