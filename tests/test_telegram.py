"""The Telegram adapter end to end: the real python-telegram-bot against a fake Bot API server.

The whole bot runs as production builds it (`running_bot` + `build_adapters`) on the tiny
offline models; the fake server on 127.0.0.1 plays Telegram and records every call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text as sql
from telegram.error import InvalidToken
from telegram.ext import ContextTypes

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import FloodLimits, TelegramConfig
from adapters.telegram.inbound import parse_command
from adapters.telegram.present import (
    describe,
    fits_photo,
    menu,
    png_size,
    split_text,
    trim,
    utf16_len,
)
from adapters.telegram.redact import TokenFilter
from adapters.telegram.updates import parse_listen
from bot.app.root import App, command_menu, running_bot
from bot.app.runner import build_adapters
from bot.app.settings import Settings
from bot.chat.command import Action, Button, Command
from bot.chat.menu import CommandInfo
from bot.i18n.catalogue import text
from storage.records import JobStatus
from storage.store import Store
from tests.fake_telegram import BOT_USERNAME, Call, FakeTelegram, User
from tests.helpers import mask_png, png

TOKEN = "123456:TEST-TOKEN-abcdef"
SMALL = "--size 64x64 --steps 2 --prior-steps 2"
ALICE = User(1, "Alice", "alice", "en")
BOB = User(2, "Bob", "bob", "en")
# Every image's buttons; Edit too, family 5 being configured.
RESULT_ORDER = (Action.REROLL, Action.RECIPE, Action.VARIATIONS, Action.USE_AS_INIT, Action.EDIT)
LABELS = ("🔄", "ℹ️", "V", "⤴", "✏️")
OLGA = User(3, "Olga", "olga", "ru")
GROUP = -1001234
RESULTS = ("sendPhoto", "sendDocument", "sendMediaGroup")


# -- fixtures -------------------------------------------------------------------------------
@dataclass
class LogGuard:
    """Handler errors the adapter reported, and the ERROR lines a test expects."""

    errors: list[BaseException] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    async def record(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An application error handler: remember what went wrong."""
        if context.error is not None:
            self.errors.append(context.error)


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt into python-telegram-bot's `RetryAfter.retry_after` as a timedelta.

    Without it PTB 22 warns (deprecation) each time it builds a `RetryAfter`, and warnings
    are errors here.
    """
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture(autouse=True)
def log_guard(caplog: pytest.LogCaptureFixture) -> Iterator[LogGuard]:
    """Every log line at DEBUG is captured; none may show the token or be an unexpected error."""
    caplog.set_level(logging.DEBUG)
    guard = LogGuard()
    yield guard
    records = caplog.get_records("setup") + caplog.get_records("call")
    secret = TOKEN.partition(":")[2]
    for record in records:
        assert secret not in record.getMessage(), record.getMessage()
        assert secret not in (record.exc_text or ""), record.exc_text
    assert secret not in caplog.text
    # The fake server's own access errors (a client hanging up at shutdown) are not ours.
    errors = [
        r.getMessage() for r in records if r.levelno >= logging.ERROR and r.name != "aiohttp.server"
    ]
    assert errors == guard.expected, errors
    assert len(guard.errors) == len(guard.expected), guard.errors


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Store]:
    """A store of its own, for an adapter run without the bot."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path / "data")
    yield store
    await store.close()


@pytest.fixture
def settings(tiny_settings: Settings, tmp_path: Path, fake: FakeTelegram) -> Settings:
    return dataclasses.replace(
        tiny_settings,
        data_dir=tmp_path / "data",
        telegram_token=TOKEN,
        telegram_base_url=fake.base_url,
        admins=frozenset({"telegram:1"}),
        progress_interval=0.0,
    )


@asynccontextmanager
async def serving(
    fake: FakeTelegram,
    settings: Settings,
    guard: LogGuard,
    adjust: Callable[[TelegramConfig], TelegramConfig] | None = None,
    *,
    settle: bool = True,
) -> AsyncIterator[tuple[App, TelegramAdapter]]:
    """The whole bot with its Telegram adapter, wired as `kandinsky-bot run` wires it.

    On the way out it waits for the queue and (`settle`) for every message to be out.
    """
    async with running_bot(settings) as app:
        (adapter,) = build_adapters(settings, app.bot.handle, app.store)
        assert isinstance(adapter, TelegramAdapter)
        if adjust is not None:
            adapter.redactor.uninstall()
            adapter = TelegramAdapter(app.bot.handle, adjust(adapter.config), app.store)
        adapter.application.add_error_handler(guard.record)
        app.repliers[adapter.platform] = adapter
        await app.queue.start()
        started = fake.mark()
        task = asyncio.create_task(adapter.run())
        try:
            await fake.wait(
                lambda: len(fake.find("setMyCommands", after=started)) == 3, what="start"
            )
            await fake.wait(lambda: fake.find("getUpdates", after=started), what="polling")
            yield app, adapter
            await asyncio.wait_for(app.idle() if settle else app.queue.wait_idle(), 60)
            await handled(app.store)
        finally:
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=30)
        assert done and task.cancelled(), "run() stops cleanly when cancelled"


# -- helpers --------------------------------------------------------------------------------
async def inbox_entries(store: Store) -> tuple[int, int]:
    """The updates stored, and those of them not handled yet."""
    async with store.engine.connect() as db:
        stored = await db.scalar(sql("SELECT count(*) FROM inbox"))
        left = await db.scalar(sql("SELECT count(*) FROM inbox WHERE done_at IS NULL"))
    return int(stored or 0), int(left or 0)


async def handled(store: Store) -> None:
    """Wait until every stored update is marked handled (just after its last answer)."""
    async with asyncio.timeout(30):
        while True:
            if not (await inbox_entries(store))[1]:
                return
            await asyncio.sleep(0.05)


def transparent_png() -> bytes:
    hole = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    hole.paste((0, 0, 0, 0), (16, 16, 48, 48))
    buffer = io.BytesIO()
    hole.save(buffer, format="PNG")
    return buffer.getvalue()


def assert_png(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()


def buttons_of(call: Call) -> dict[Action, int]:
    """The actions of a result's inline keyboard (first button of each)."""
    actions: dict[Action, int] = {}
    for key in call.keyboard:
        parsed = Button.parse(key["callback_data"])
        assert parsed is not None, key
        actions.setdefault(*parsed)
    return actions


def assert_same_buttons_for_each_image(call: Call, images: int) -> None:
    """A row of the same buttons for each image, acting on it, numbered when several; then a
    row with the result's Report button, on its first image."""
    *rows, (report,) = call.params["reply_markup"]["inline_keyboard"]
    assert len(rows) == images, rows
    assert Button.parse(report["callback_data"]) == (
        Action.REPORT,
        Button.parse(rows[0][0]["callback_data"])[1],
    )
    seen = set()
    for number, row in enumerate(rows, start=1):
        parsed = [Button.parse(key["callback_data"]) for key in row]
        assert [found[0] for found in parsed if found] == list(RESULT_ORDER)
        (image,) = {found[1] for found in parsed if found}
        seen.add(image)
        suffix = f" {number}" if images > 1 else ""
        assert [key["text"] for key in row] == [f"{label}{suffix}" for label in LABELS]
    assert len(seen) == images
    if images > 1:  # the message with the buttons names the album's pictures in order
        job = call.params["text"].removeprefix("#").split(".")[0]
        assert call.params["text"] == " · ".join(f"#{job}.{n}" for n in range(1, images + 1))


async def result_of(fake: FakeTelegram, chat: int, message: int, after: int = 0) -> Call:
    """Wait for the picture answering `message`; check it is a PNG with caption and buttons."""
    call = await fake.answer(chat, message, RESULTS, after=after)
    images = 1
    if call.method == "sendMediaGroup":
        images = len(call.params["media"])
        for item in call.params["media"]:
            assert_png(call.files[item["media"].removeprefix("attach://")])
        assert "#" in call.params["media"][0]["caption"]
        first = call.result[0]["message_id"]
        call = await fake.answer(chat, first, ("sendMessage",), after=after)
    else:
        assert_png(call.files["photo" if call.method == "sendPhoto" else "document"])
        assert re.search(r"#\d+", call.params["caption"]), call.params
    actions = buttons_of(call)
    assert set(actions) == set(Action), actions
    assert_same_buttons_for_each_image(call, images)
    return call


async def said(fake: FakeTelegram, chat: int, message: int, needle: str, after: int = 0) -> Call:
    """Wait for a text answering `message` that contains `needle`."""
    return await fake.answer(chat, message, ("sendMessage",), after=after, needle=needle)


def edits_per_minute(calls: list[Call]) -> int:
    """The most edits that fall in any 60-second window."""
    times = sorted(call.at for call in calls)
    return max((sum(1 for t in times if start <= t < start + 60) for start in times), default=0)


# -- pure helpers -------------------------------------------------------------------------------
def test_command_parsing_and_limits() -> None:
    assert parse_command("/imagine a fox --ar 16:9", BOT_USERNAME) == ("imagine", "a fox --ar 16:9")
    assert parse_command("/imagine@testbot\na fox", BOT_USERNAME) == ("imagine", "a fox")
    assert parse_command("/imagine@OtherBot a fox", BOT_USERNAME) is None
    assert parse_command("/", BOT_USERNAME) is None
    assert parse_listen("0.0.0.0:8443") == ("0.0.0.0", 8443)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError, match="host:port"):
        parse_listen("localhost")
    long = "😀" * 600
    assert utf16_len(trim(long, 1024)) <= 1024
    chunks = split_text(("line of text\n" * 500) + "x" * 5000)
    assert all(utf16_len(chunk) <= 4096 for chunk in chunks) and len(chunks) == 4
    assert describe(text("en", "help_imagine")) == "Draw a picture"
    assert png_size(png((96, 64))) == (96, 64) and fits_photo(png((96, 64)))
    assert not fits_photo(png((1344, 64))), "aspect over 20"
    assert not fits_photo(b"GIF89a" + bytes(40)), "not a PNG: sent as a file"
    for language in ("en", "ru", "ar"):
        commands = menu(language, command_menu())
        names = [command.command for command in commands]
        assert names == [info.name for info in command_menu() if not info.admin_only]
        assert "imagine" in names and "help" in names and "admin" not in names
        assert all(1 <= len(command.description) <= 256 for command in commands)
    extra = CommandInfo("frobnicate", "help_help")
    assert [c.command for c in menu("ru", (extra,))] == ["frobnicate"], "the menu is the list"


def test_token_filter_redacts_messages_args_and_exceptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redactor = TokenFilter(TOKEN)
    redactor.install()
    try:
        logger = logging.getLogger("telegram.ext.Updater")
        logger.info("GET http://127.0.0.1/bot%s/getMe", TOKEN)
        changed_later = {"file_path": "files/1"}  # PTB logs getFile's result, then edits it
        logger.debug("getFile returned %s", changed_later)
        changed_later["file_path"] = f"http://127.0.0.1/file/bot{TOKEN}/files/1"
        try:
            raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
        except InvalidToken:
            logging.getLogger("somewhere.else").warning("failed: %r", {"t": TOKEN}, exc_info=True)
    finally:
        redactor.uninstall()
    assert "<telegram-token>" in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage() and TOKEN not in (record.exc_text or "")
        assert "TEST-TOKEN-abcdef" not in str(record.args)
    assert logging.getLogger("httpx").level == logging.WARNING


# -- end to end -------------------------------------------------------------------------------
async def test_every_user_command(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    chat = ALICE.id

    def say(body: str, **options: Any) -> int:
        return fake.text(chat, ALICE, body, **options)

    async with serving(fake, settings, log_guard) as (app, _):
        menus = fake.find("setMyCommands")
        assert sorted(str(call.params.get("language_code")) for call in menus) == [
            "None",
            "ar",
            "ru",
        ]
        for call in menus:
            names = {command["command"] for command in call.params["commands"]}
            assert {"imagine", "img2img", "mix", "help"} <= names

        for body, needle in [
            ("/help", "I draw pictures with Kandinsky"),
            ("/start", "I draw pictures with Kandinsky"),
            ("/help imagine", "/imagine a lighthouse at dusk --ar 16:9"),
            ("/frobnicate", "I don't know /frobnicate"),
        ]:
            await said(fake, chat, say(body), needle)

        # imagine: a status message created once, edited in place, and the result
        message = say(f"/imagine a fox in the snow --seed 1 {SMALL}")
        queued = await said(fake, chat, message, "Queued as job #")
        fox_call = await result_of(fake, chat, message)
        fox, fox_message = buttons_of(fox_call)[Action.REROLL], fox_call.result["message_id"]
        job = int(re.findall(r"#(\d+)", queued.params["text"])[0])
        status = queued.result["message_id"]
        done = text("en", "done", job=job)
        await fake.wait(lambda: fake.find("editMessageText", message_id=status, text=done))
        edits = [queued.at] + [c.at for c in fake.find("editMessageText", message_id=status)]
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(edits)), edits
        assert fake.find("sendChatAction", chat_id=chat, action="upload_photo")

        # img2img: photo + caption, reply to a photo, a file, a plain caption (private chat)
        caption = f"/img2img a watercolor fox --strength 0.5 {SMALL}"
        await result_of(fake, chat, fake.photo(chat, ALICE, png((96, 64)), caption))
        picture = fake.photo(chat, ALICE, png((64, 96), "seagreen"))
        await result_of(fake, chat, say(f"/img2img a painting {SMALL}", reply_to=picture))
        as_file = fake.document(
            chat, ALICE, png(), "photo.png", "image/png", f"/i2i etching {SMALL}"
        )
        await result_of(fake, chat, as_file)
        sketch = await result_of(fake, chat, fake.photo(chat, ALICE, png(), f"a sketch {SMALL}"))
        sketch_id = buttons_of(sketch)[Action.REROLL]

        # inpaint: the mask replying to the picture, or a transparent PNG as a file
        mask = fake.photo(chat, ALICE, mask_png(), f"/inpaint a red door {SMALL}", reply_to=picture)
        await result_of(fake, chat, mask)
        hole = fake.document(
            chat, ALICE, transparent_png(), "hole.png", "image/png", f"/inpaint a window {SMALL}"
        )
        await result_of(fake, chat, hole)

        # mix: an album (caption on its second picture) and a reply to a picture
        album = fake.album(
            chat,
            ALICE,
            [png(), png(color="tomato")],
            f"/mix a cat::0.3 | #1::0.4 | #2::0.3 {SMALL}",
            caption_on=1,
        )
        await result_of(fake, chat, album[1])
        await result_of(fake, chat, say(f"/mix a cat::0.5 | #1::0.5 {SMALL}", reply_to=picture))

        # depth, and several images at once (an album, the buttons on their own message)
        await result_of(
            fake, chat, fake.photo(chat, ALICE, png((96, 64)), f"/depth a tower {SMALL}")
        )
        pair = await result_of(fake, chat, say(f"/imagine two foxes --n 2 {SMALL}"))
        assert_same_buttons_for_each_image(pair, 2)
        strip = say("/imagine a long strip --size 1408x64 --steps 2 --prior-steps 2")
        assert (await result_of(fake, chat, strip)).method == "sendDocument", "aspect over 20"

        # buttons under a result
        for action in (Action.REROLL, Action.VARIATIONS):
            mark = fake.mark()
            query = fake.press(chat, ALICE, fox_message, Button(action, fox, "").data)
            await result_of(fake, chat, fox_message, after=mark)
            assert fake.find("answerCallbackQuery", callback_query_id=query)
        mark = fake.mark()
        fake.press(chat, ALICE, fox_message, Button(Action.RECIPE, fox, "").data)
        await said(fake, chat, fox_message, f"Image #{fox}: text2img, Kandinsky 2.2", after=mark)
        mark = fake.mark()
        fake.press(chat, ALICE, fox_message, Button(Action.USE_AS_INIT, fox, "").data)
        await said(fake, chat, fox_message, f"Image #{fox} will be the starting picture", mark)
        await result_of(fake, chat, say(f"/img2img from the init image {SMALL}"))

        # the same by command, and by replying to a result
        await result_of(fake, chat, say(f"/reroll {fox}"))
        await result_of(fake, chat, say(f"/variations {fox}"))
        await said(fake, chat, say(f"/init {fox}"), f"Image #{fox} will be the starting picture")
        await result_of(fake, chat, say(f"/img2img again from it {SMALL}"))
        await said(fake, chat, say("/show", reply_to=fox_message), f"Image #{fox}: text2img")
        await result_of(fake, chat, say("/reroll", reply_to=fox_message))

        # text commands
        await said(fake, chat, say("/history"), "Your images, page 1 of")
        await said(fake, chat, say(f"/show {fox}"), f"Image #{fox}: text2img, Kandinsky 2.2, 64x64")
        await said(fake, chat, say(f"/show {sketch_id}"), f"Image #{sketch_id}: img2img")
        await said(fake, chat, say("/settings"), "Your defaults:")
        await said(fake, chat, say("/settings --steps 3"), "Saved.")
        await said(fake, chat, say("/settings reset"), "Saved.")
        await said(fake, chat, say("/quota"), "Today you have used")
        await app.idle()
        await said(fake, chat, say("/queue"), text("en", "queue_empty"))
        await said(fake, chat, say("/cancel"), text("en", "cancel_none"))
        await said(fake, chat, say("/language ru"), text("ru", "language_set"))
        await said(fake, chat, say("/language en"), text("en", "language_set"))
        await said(fake, chat, say("/link"), "Your link code is")
        await said(fake, chat, say("/link NOPE2345"), text("en", "link_bad"))

        # plain text in a private chat is a prompt; in a group only commands for this bot count
        await result_of(fake, chat, say(f"a lighthouse at dusk {SMALL}"))
        group = fake.text(GROUP, BOB, f"/imagine@{BOT_USERNAME} a fox in a group {SMALL}")
        await result_of(fake, GROUP, group)
        elsewhere = fake.text(GROUP, BOB, "/imagine@OtherBot a fox")
        chatter = fake.text(GROUP, BOB, "just talking")

        # bad attachments: not a picture; too large (refused before any download)
        notes = fake.document(chat, ALICE, b"just notes", "notes.txt", "text/plain", "/img2img x")
        await said(fake, chat, notes, "not a PNG, JPEG or WebP picture")
        huge = fake.photo(chat, ALICE, png(), "/img2img a fox", file_size=25 * 2**20)
        await said(fake, chat, huge, "is 25.0 MB; I can download files up to 20 MB")
        huge_file = fake.messages[(chat, huge)]["photo"][-1]["file_id"]
        assert huge_file not in fake.downloads
        assert not fake.find("getFile", file_id=huge_file)
        # the same refusal in the sender's language
        huge_ru = fake.photo(OLGA.id, OLGA, png(), "/img2img лиса", file_size=25 * 2**20)
        refusal = "Файл photo-{}.jpg весит 25.0 МБ; я могу скачивать файлы до 20 МБ"
        await said(fake, OLGA.id, huge_ru, refusal.format(huge_ru))
        # ... and in the language a user chose, whatever their Telegram app speaks
        await said(fake, BOB.id, fake.text(BOB.id, BOB, "/language ru"), text("ru", "language_set"))
        huge_bob = fake.photo(BOB.id, BOB, png(), "/img2img a fox", file_size=25 * 2**20)
        await said(fake, BOB.id, huge_bob, refusal.format(huge_bob))
        used = "Сегодня использовано изображений: 1 из"  # his group picture; nothing more
        await said(fake, BOB.id, fake.text(BOB.id, BOB, "/quota"), used)
        await said(fake, BOB.id, fake.text(BOB.id, BOB, "/language en"), text("en", "language_set"))

        # admin commands: the core checks telegram:<id>
        await said(fake, chat, say("/admin stats"), "Users:")
        refused = fake.text(BOB.id, BOB, "/admin stats")
        await said(fake, BOB.id, refused, text("en", "not_admin"))

        # a 429 is waited out and retried
        fake.fail_next("sendMessage")
        answer = await said(fake, chat, say("/quota"), "Today you have used")
        (limited,) = [call for call in fake.find("sendMessage") if call.result == "429"]
        assert answer.at - limited.at >= 1.0

        # network trouble: a failed upload is tried again, polling recovers, serving goes on
        lost = say(f"/imagine lost in transit {SMALL}")
        fake.fail_next("sendPhoto", 502)
        await fake.wait(lambda: [c for c in fake.find("sendPhoto") if c.result == "502"])
        fake.fail_next("getUpdates", 502)
        await said(fake, chat, say("/quota"), "Today you have used")
        fake.fail_next("getUpdates")  # flood control on polling: waited out, then on
        await said(fake, chat, say("/queue"), "You have no jobs")
        await result_of(fake, chat, lost)
        assert len(fake.results(chat, lost)) == 1

        # an error inside a handler: logged once, the user hears about it, serving goes on
        fake.fail_next("getFile", 502)
        broken = fake.photo(chat, ALICE, png(), f"/img2img a fox {SMALL}")
        log_guard.expected.append("Telegram: an update could not be handled")
        await said(fake, chat, broken, text("en", "error"))
        assert [call for call in fake.find("getUpdates") if call.result == "429"]
        await said(fake, chat, say("/quota"), "Today you have used")

    for ignored in (elsewhere, chatter):
        assert not [call for call in fake.calls if call.reply_to == ignored]
    assert not [call for call in fake.calls if call.result == "404"], "only known methods"


async def test_buttons_and_replies_work_after_a_restart(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    chat = ALICE.id
    async with serving(fake, settings, log_guard):
        first = await result_of(fake, chat, fake.text(chat, ALICE, f"/imagine a fox {SMALL}"))
        pair = fake.text(chat, ALICE, f"/imagine two foxes --n 2 {SMALL}")
        await result_of(fake, chat, pair)
    image, message = buttons_of(first)[Action.REROLL], first.result["message_id"]
    (album,) = fake.find("sendMediaGroup")
    album_first = album.result[0]["message_id"]
    album_image = re.findall(r"#(\S+)", album.params["media"][0]["caption"])[0]
    assert album_image == "2.1", "the first of the two pictures job #2 made"

    async with serving(fake, settings, log_guard):
        for action in (Action.VARIATIONS, Action.REROLL):
            mark = fake.mark()
            fake.press(chat, ALICE, message, Button(action, image, "").data)
            await result_of(fake, chat, message, after=mark)
        mark = fake.mark()
        fake.press(chat, ALICE, message, Button(Action.RECIPE, image, "").data)
        await said(fake, chat, message, f"Image #{image}: text2img", after=mark)
        reply = fake.text(chat, ALICE, "/show", reply_to=message)
        await said(fake, chat, reply, f"Image #{image}: text2img")
        reply = fake.text(chat, ALICE, "/show", reply_to=album_first)
        await said(fake, chat, reply, f"Image #{album_image}: text2img")


async def test_an_update_handled_again_makes_no_second_job(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    """A crash between storing the job and marking the update handled: the next start
    handles the update again, and finds its job stored."""
    chat = ALICE.id
    async with serving(fake, settings, log_guard) as (app, _):
        asked = fake.text(chat, ALICE, f"/imagine only once {SMALL}")
        await result_of(fake, chat, asked)
    store = await Store.open(settings.database, settings.data_dir)
    async with store.engine.begin() as db:
        await db.execute(sql("UPDATE inbox SET done_at = NULL"))
    await store.close()
    async with serving(fake, settings, log_guard) as (app, _):
        await handled(app.store)
        (job,) = await app.store.jobs(tuple(JobStatus))
        assert job.source is not None and job.source.startswith("telegram:update:")
        quota = await app.store.quota(job.user_id)
    assert quota.used_today == 1
    queued = [c for c in fake.find("sendMessage") if c.params["text"].startswith("Queued")]
    assert [call.reply_to for call in queued] == [asked], "told once"
    assert len([c for c in fake.calls if c.method in RESULTS]) == 1


async def test_a_burst_in_a_group_stays_under_the_flood_limits(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    # Telegram's own per-group message limit is lifted here so the burst finishes quickly;
    # what is measured is the adapter's budget for status edits.
    def unthrottled(config: TelegramConfig) -> TelegramConfig:
        return dataclasses.replace(
            config, limits=dataclasses.replace(config.limits, group_messages_per_minute=0)
        )

    users = [User(10 + n, f"User{n}", f"user{n}", "en") for n in range(5)]
    # The status messages' last texts are left to land within the budget after the test.
    async with serving(fake, settings, log_guard, unthrottled, settle=False) as (app, _):
        messages = [
            fake.text(GROUP, user, f"/imagine burst {n} --seed {n} {SMALL}")
            for n in range(4)
            for user in users
        ]
        for message in messages:
            await result_of(fake, GROUP, message, after=0)
        await app.queue.wait_idle()
        budget = FloodLimits().group_edits_per_minute
        await fake.wait(lambda: len(fake.find("editMessageText")) >= budget, what="edits")
        await asyncio.sleep(2 * FloodLimits().group_edit_seconds)  # room to overspend, if it would

    created = [c for c in fake.find("sendMessage", chat_id=GROUP) if "Queued" in c.params["text"]]
    assert len(created) == 20, "no status message is ever dropped"
    edits = fake.find("editMessageText", chat_id=GROUP)
    assert edits_per_minute(edits) == FloodLimits().group_edits_per_minute <= 20
    actions = fake.find("sendChatAction", chat_id=GROUP)
    assert 1 <= len(actions) <= 2, "the chat action is shown now and then, not per job"
    for status in created:
        times = [status.at] + [
            c.at for c in edits if c.params["message_id"] == status.result["message_id"]
        ]
        assert all(b - a >= 2.9 for a, b in itertools.pairwise(times)), times


async def test_webhook_mode_serves_updates_posted_to_it(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    """Webhook mode end to end: setWebhook, updates POSTed with the secret, a picture back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = dataclasses.replace(
        settings,
        telegram_webhook_url="https://bot.example.org/telegram/hook",
        telegram_listen=f"127.0.0.1:{port}",
    )
    local = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(settings) as app:
        (adapter,) = build_adapters(settings, app.bot.handle, app.store)
        assert isinstance(adapter, TelegramAdapter)
        adapter.application.add_error_handler(log_guard.record)
        app.repliers[adapter.platform] = adapter
        await app.queue.start()
        task = asyncio.create_task(adapter.run())
        try:
            (hook,) = await fake.wait(lambda: fake.find("setWebhook"), what="setWebhook")
            assert hook.params["url"] == settings.telegram_webhook_url
            secret = hook.params["secret_token"]
            assert secret and len(secret) >= 32
            await fake.wait(lambda: fake.find("setMyCommands"), what="commands")
            asked = fake.text(ALICE.id, ALICE, f"/imagine a lighthouse {SMALL}")
            assert await fake.post_updates(local, "not-the-secret") == [403]
            assert await inbox_entries(app.store) == (0, 0), "refused, nothing is stored"
            assert await fake.post_updates(local, secret) == [200]
            await result_of(fake, ALICE.id, asked)
            await handled(app.store)
            await asyncio.wait_for(app.idle(), 60)
            assert not fake.find("getUpdates")
            assert len(fake.find("sendPhoto", chat_id=ALICE.id)) == 1
        finally:
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=30)
        assert done and task.cancelled()


@dataclass
class FlakyInbox:
    """The store's inbox, whose first `receive` fails (the database was away a moment)."""

    store: Store
    failures: int = 0
    stored_at: float = 0.0

    async def receive(self, platform: str, items: Sequence[tuple[str, str]]) -> list[Any]:
        if not self.failures:
            self.failures += 1
            raise ConnectionError("the database went away")
        stored = await self.store.receive(platform, items)
        self.stored_at = time.monotonic()
        return list(stored)

    async def take_unhandled(self, platform: str) -> list[Any]:
        return list(await self.store.take_unhandled(platform))

    async def mark_handled(self, entry_id: int, error: str | None = None) -> bool:
        return await self.store.mark_handled(entry_id, error)

    async def forget_handled(self, platform: str, before: datetime) -> int:
        return await self.store.forget_handled(platform, before)


async def test_a_batch_is_confirmed_only_once_it_is_stored(
    fake: FakeTelegram, inbox: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The next getUpdates (whose offset confirms a batch) waits until the batch is stored;
    a storage failure is retried, the batch is not fetched again meanwhile."""
    handled: list[Command] = []

    async def handle(command: Command) -> None:
        handled.append(command)

    flaky = FlakyInbox(inbox)
    config = TelegramConfig(token=TOKEN, commands=command_menu(), base_url=fake.base_url)
    adapter = TelegramAdapter(handle, config, flaky)
    fake.text(ALICE.id, ALICE, "/help")
    task = asyncio.create_task(adapter.run())
    try:
        await fake.wait(lambda: handled, what="the command")
        polls = await fake.wait(lambda: fake.find("getUpdates")[1:] and fake.find("getUpdates"))
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=30)
    (update,) = polls[0].result
    assert flaky.failures == 1 and "could not store 1 updates" in caplog.text
    assert polls[1].params["offset"] == update["update_id"] + 1
    assert polls[1].at >= flaky.stored_at > 0, "confirmed only once stored"
    (command,) = handled
    assert command.name == "help" and command.source == f"telegram:update:{update['update_id']}"


async def test_a_token_revoked_while_polling_stops_the_adapter(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture, inbox: Store
) -> None:
    """Polling that gives up (token revoked) ends `run()` with an error: never silently deaf."""
    adapter = TelegramAdapter(
        lambda command: asyncio.sleep(0),
        TelegramConfig(token=TOKEN, commands=command_menu(), base_url=fake.base_url),
        inbox,
    )
    task = asyncio.create_task(adapter.run())
    await fake.wait(lambda: fake.find("getUpdates"), what="polling")
    await fake.wait(lambda: fake.find("setMyCommands"), what="commands")
    fake.revoke()
    done, _ = await asyncio.wait([task], timeout=30)
    assert done, "run() ends once polling has given up"
    with pytest.raises(InvalidToken, match="rejected the Telegram token"):
        task.result()
    # The reason travels with the error (the runner logs it once); the token is nowhere.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert TOKEN.partition(":")[2] not in caplog.text


async def test_run_stops_cleanly_with_a_reason_when_telegram_fails(
    fake: FakeTelegram, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """`kandinsky-bot run`: an adapter whose token is revoked stops the process, politely."""
    from bot.app.runner import AdapterFailed, run_adapters

    running = asyncio.create_task(run_adapters(settings))
    await fake.wait(lambda: fake.find("getUpdates"), within=60, what="polling")
    fake.revoke()
    with pytest.raises(AdapterFailed) as failed:
        await asyncio.wait_for(running, 60)
    assert str(failed.value) == (
        "telegram: InvalidToken: the Bot API server rejected the Telegram token"
    )
    assert TOKEN.partition(":")[2] not in caplog.text
    stopped = [r.getMessage() for r in caplog.records if r.name == "bot.app.runner"]
    assert any("the telegram adapter stopped" in line for line in stopped), stopped
    caplog.clear()  # the expected ERROR lines (ours and python-telegram-bot's) were checked


def test_cli_run_reports_a_failed_adapter_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.app.runner
    from bot.app.cli import main

    async def failing(settings: Settings, *, worker: bool = True) -> None:
        raise bot.app.runner.AdapterFailed("telegram: InvalidToken: rejected")

    monkeypatch.setattr(bot.app.runner, "run_adapters", failing)
    assert main(["run"]) == 1
    assert capsys.readouterr().err == (
        "kandinsky-bot: stopped, a chat adapter failed: telegram: InvalidToken: rejected\n"
    )


async def test_a_rejected_token_is_never_shown(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture, inbox: Store
) -> None:
    wrong = "654321:WRONG-TOKEN-0123456789"
    adapter = TelegramAdapter(
        lambda command: asyncio.sleep(0),
        TelegramConfig(token=wrong, commands=command_menu(), base_url=fake.base_url),
        inbox,
    )
    with pytest.raises(InvalidToken) as raised:
        await asyncio.wait_for(adapter.run(), 30)
    assert "WRONG-TOKEN" not in str(raised.value) and "WRONG-TOKEN" not in repr(raised.value)
    assert "WRONG-TOKEN" not in caplog.text


# -- delivery that retries --------------------------------------------------------------------
def _job_of(queued: Call) -> int:
    return int(re.findall(r"#(\d+)", queued.params["text"])[0])


async def test_server_errors_are_retried_until_the_picture_arrives(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    chat = ALICE.id
    scenarios = {
        "one 500 on the photo": [("sendPhoto", 500, 1)],
        "two 502s on the photo": [("sendPhoto", 502, 2)],
        "500s on the photo, then on the file": [("sendPhoto", 500, 3), ("sendDocument", 500, 1)],
    }
    async with serving(fake, settings, log_guard) as (app, _):
        sent = {}
        for name, failures in scenarios.items():
            for method, status, times in failures:
                fake.fail_next(method, status, times=times)
            message = fake.text(chat, ALICE, f"/imagine {name} {SMALL}")
            queued = await said(fake, chat, message, "Queued as job #")
            await result_of(fake, chat, message)
            await asyncio.wait_for(app.idle(), 60)
            assert fake.failing("sendPhoto") == fake.failing("sendDocument") == 0, name
            (sent[name],) = fake.results(chat, message)
            done = text("en", "done", job=_job_of(queued))
            assert fake.find("editMessageText", message_id=queued.result["message_id"], text=done)
        assert sent["one 500 on the photo"].method == "sendPhoto"
        assert sent["two 502s on the photo"].method == "sendPhoto"
        # the photo route kept failing: the picture went as a file, itself retried once
        assert sent["500s on the photo, then on the file"].method == "sendDocument"

        # a photo Telegram will not take goes as a file at once
        fake.fail_next("sendPhoto", 400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
        message = fake.text(chat, ALICE, f"/imagine an odd one {SMALL}")
        assert (await result_of(fake, chat, message)).method == "sendDocument"

        # an answer to a command is retried too
        await app.idle()
        fake.fail_next("sendMessage", 500)
        asked = fake.text(chat, ALICE, "/quota")
        await said(fake, chat, asked, "Today you have used")
        answers = fake.find("sendMessage", reply_to=asked)
        assert [call.result == "500" for call in answers] == [True, False]


async def test_a_refused_result_waits_in_history_and_its_owner_hears_once(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    chat = ALICE.id
    notice = text("en", "undelivered_results", count=1)
    async with serving(fake, settings, log_guard) as (app, _):
        fake.fail_next("sendPhoto", 403)  # the user blocked the bot
        message = fake.text(chat, ALICE, f"/imagine a fox nobody sees {SMALL}")
        await fake.wait(lambda: [c for c in fake.find("sendPhoto") if c.result == "403"])
        await asyncio.wait_for(app.idle(), 60)
        assert not fake.results(chat, message)
        assert len(fake.find("sendPhoto", chat_id=chat)) == 1, "no retry after a 403"
        assert not fake.find("sendDocument", chat_id=chat)
        user = await app.store.find_user("telegram", str(ALICE.id))
        assert user is not None
        (image,), _ = await app.store.history(user.id)

        # unblocked, the user writes again: they hear of it once, then the answer
        asked = fake.text(chat, ALICE, "/history")
        told = await said(fake, chat, asked, notice)
        listed = await said(fake, chat, asked, "Your images, page 1 of 1")
        assert told.at <= listed.at and f"#{image.id}" in listed.params["text"]
        again = fake.text(chat, ALICE, "/quota")
        await said(fake, chat, again, "Today you have used")
        await app.idle()
    assert len([c for c in fake.find("sendMessage") if c.params.get("text") == notice]) == 1


async def test_a_message_left_waiting_is_delivered_once_after_a_restart(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    chat = ALICE.id
    for method in ("sendPhoto", "sendDocument"):
        fake.fail_next(method, 500, times=1000)  # Telegram is down for pictures
    async with serving(fake, settings, log_guard, settle=False) as (app, _):
        message = fake.text(chat, ALICE, f"/imagine a patient fox {SMALL}")
        job = _job_of(await said(fake, chat, message, "Queued as job #"))
        await fake.wait(lambda: 1000 - fake.failing("sendPhoto") >= 2, what="two tries")
        waiting = await app.store.outbox_message(f"job:{job}:result")
        assert waiting is not None and waiting.status in ("pending", "sending")
    assert not fake.results(chat, message)

    for method in ("sendPhoto", "sendDocument"):
        fake.heal(method)  # Telegram is back
    async with serving(fake, settings, log_guard) as (app, _):
        await result_of(fake, chat, message)
        await asyncio.wait_for(app.idle(), 60)
        delivered = await app.store.outbox_message(f"job:{job}:result")
        assert delivered is not None and delivered.status == "sent"
    async with serving(fake, settings, log_guard):  # and once more: nothing is sent again
        pass
    assert len(fake.results(chat, message)) == 1


FIVE = "--model 5 --size 64x64 --steps 2"


def result_size(call: Call) -> tuple[int, int]:
    """The size of a single result's picture."""
    data = call.files["photo" if call.method == "sendPhoto" else "document"]
    return Image.open(io.BytesIO(data)).size


async def test_kandinsky_5_and_edits_by_instruction(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    """`/imagine --model 5`; /edit on a photo's caption, as a reply to a picture and to a
    result; the Edit button's question and its reply, after a restart too; the refusals."""
    chat = ALICE.id

    def say(body: str, **options: Any) -> int:
        return fake.text(chat, ALICE, body, **options)

    async with serving(fake, settings, log_guard):
        fox_call = await result_of(fake, chat, say(f"/imagine a fox --seed 1 {FIVE}"))
        assert "Kandinsky 5" in fox_call.params["caption"]
        fox, fox_message = buttons_of(fox_call)[Action.EDIT], fox_call.result["message_id"]

        # a photo with the caption /edit: the tiny size list's nearest to its 3:2 aspect
        captioned = fake.photo(chat, ALICE, png((96, 64)), "/edit make it night --steps 2")
        assert result_size(await result_of(fake, chat, captioned)) == (160, 96)
        # /edit replying to a picture, and to one of the bot's results (its stored picture)
        picture = fake.photo(chat, ALICE, png((64, 96), "seagreen"))
        winter = say("/edit make it winter --steps 2", reply_to=picture)
        assert result_size(await result_of(fake, chat, winter)) == (96, 160)
        await result_of(fake, chat, say("/edit add a moon --steps 2", reply_to=fox_message))

        # the Edit button asks, with the reply field open; the reply is the edit
        mark = fake.mark()
        query = fake.press(chat, ALICE, fox_message, Button(Action.EDIT, fox, "").data)
        question = await said(fake, chat, fox_message, f"✏️ #{fox} What should change", mark)
        assert fake.find("answerCallbackQuery", callback_query_id=query)
        assert question.params["reply_markup"] == {"force_reply": True}
        asked = question.result["message_id"]
        answer = say("make it night --steps 2", reply_to=asked)
        night = buttons_of(await result_of(fake, chat, answer))[Action.EDIT]
        await said(fake, chat, say(f"/show {night}"), f"Image #{night}: edit, Kandinsky 5")

        # refusals, each with its sentence
        for body, sentence in [
            ("/edit make it night", "Which picture should /edit change? Send a photo"),
            ("/edit", "Which picture should /edit change?"),
            ("/imagine a cat --model 5 --size 512x512", "makes only these sizes: 64x64, 80x176"),
        ]:
            await said(fake, chat, say(body), sentence)
        for caption, sentence in [
            ("/edit make it night --strength 0.5", "edit takes no strength"),
            ("/edit make it night --model 2.2", "Kandinsky 2.2 cannot edit by instruction; try"),
            ("/img2img a watercolor --model 5", "use /edit (task edit) and say what to change"),
            ("/edit", "Say what to change after /edit, for example: /edit make it night"),
        ]:
            await said(fake, chat, fake.photo(chat, ALICE, png(), caption), sentence)

        # someone else's result, in a group: no such image, by reply or by the button's question
        group_fox = await result_of(
            fake, GROUP, fake.text(GROUP, ALICE, f"/imagine@{BOT_USERNAME} a fox {FIVE}")
        )
        theirs, their_message = buttons_of(group_fox)[Action.EDIT], group_fox.result["message_id"]
        bob = fake.text(GROUP, BOB, f"/edit@{BOT_USERNAME} make it night", reply_to=their_message)
        await said(fake, GROUP, bob, f"There is no image #{theirs}.")
        mark = fake.mark()
        fake.press(GROUP, ALICE, their_message, Button(Action.EDIT, theirs, "").data)
        group_question = await said(fake, GROUP, their_message, f"✏️ #{theirs}", mark)
        bob = fake.text(GROUP, BOB, "make it night", reply_to=group_question.result["message_id"])
        await said(fake, GROUP, bob, f"There is no image #{theirs}.")

    # after a restart: the button still asks, and a question asked before is still answered
    async with serving(fake, settings, log_guard):
        later = say("make it rain --steps 2", reply_to=asked)
        rain = buttons_of(await result_of(fake, chat, later))[Action.EDIT]
        shown = f"Image #{rain}: edit, Kandinsky 5"
        await said(fake, chat, say(f"/show {rain}"), shown)
        mark = fake.mark()
        fake.press(chat, ALICE, fox_message, Button(Action.EDIT, fox, "").data)
        await said(fake, chat, fox_message, f"✏️ #{fox}", mark)


# -- videos -----------------------------------------------------------------------------------
VIDEO = "--size 64x64 --steps 2 --fps 1"  # 5 s at 1 frame a second: 5 frames


def assert_h264(data: bytes, frames: int, side: int = 64) -> None:
    """An H.264 MP4 that decodes to `frames` frames of `side` pixels."""
    import av

    from generation import video

    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    decoded, _ = video.decode_frames(data)
    assert len(decoded) == frames and decoded[0].shape == (side, side, 3)


async def test_animate_sends_a_video_with_its_size_length_and_thumbnail(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    """/animate from a prompt and from a photo: sendVideo with an H.264 MP4, its size, length,
    streaming and a JPEG thumbnail; the video's cost said when queued and taken from the
    quota; /show and /reroll work on it; and the refusals."""
    chat = ALICE.id
    settings = dataclasses.replace(settings, video_cost=4)
    async with serving(fake, settings, log_guard) as (app, _):
        asked = fake.text(chat, ALICE, f"/animate a paper boat on a river {VIDEO} --seed 5")
        await said(fake, chat, asked, "a video for 4 credits")
        sent = await fake.answer(chat, asked, ("sendVideo",))
        assert_h264(sent.files["video"], 5)
        params = sent.params
        assert (params["width"], params["height"], params["duration"]) == (64, 64, 5)
        assert params["supports_streaming"] == "true"
        thumbnail = sent.files[params["thumbnail"].removeprefix("attach://")]
        assert Image.open(io.BytesIO(thumbnail)).format == "JPEG"
        assert "a paper boat on a river" in params["caption"]
        assert set(buttons_of(sent)) == {Action.REROLL, Action.RECIPE, Action.REPORT}
        job = re.search(r"#(\d+)", params["caption"])
        assert job is not None
        shown = await said(fake, chat, fake.text(chat, ALICE, f"/show {job[1]}"), "animate")
        assert "--seconds 5 --fps 1" in shown.params["text"], shown.params["text"]
        user = await app.store.find_user("telegram", str(ALICE.id))
        assert user is not None
        assert (await app.store.quota(user.id)).used_today == 4

        again = fake.text(chat, ALICE, f"/reroll {job[1]}")
        assert_h264((await fake.answer(chat, again, ("sendVideo",))).files["video"], 5)
        photo = fake.photo(chat, ALICE, png((64, 64)), f"/animate waves {VIDEO[:-1]}3")
        assert_h264((await fake.answer(chat, photo, ("sendVideo",))).files["video"], 17)
        assert (await app.store.quota(user.id)).used_today == 12

        for body, needle in [
            (f"/animate waves {VIDEO}", "needs at least 17 frames, and these settings make 5"),
            ("/animate a boat --size 640x480 --steps 2", "makes only these sizes: 64x64"),
            ("/animate a boat --model 3", "Kandinsky 3 makes pictures, not videos"),
            ("/animate a boat --model 2.2", "Kandinsky 2.2 makes pictures, not videos"),
        ]:
            if "waves" in body:
                asked = fake.photo(chat, ALICE, png((64, 64)), body)
            else:
                asked = fake.text(chat, ALICE, body)
            await said(fake, chat, asked, needle)
        assert (await app.store.quota(user.id)).used_today == 12, "refusals cost nothing"


async def test_a_video_over_the_upload_limit_is_sent_smaller_or_named(
    fake: FakeTelegram, settings: Settings, log_guard: LogGuard
) -> None:
    """With the limit set low (the fake answers 413 over it), the video is written again at a
    lower bitrate and still sent; one that cannot fit is named in a sentence and kept."""
    chat = ALICE.id
    ask = f"/animate a paper boat {VIDEO[:-1]}8 --seed 2"  # 41 frames
    async with serving(fake, settings, log_guard) as (app, adapter):
        first = await fake.answer(chat, fake.text(chat, ALICE, ask), ("sendVideo",))
        full = first.files["video"]
        limit = len(full) * 3 // 4
        fake.upload_limit = limit + 4096  # the thumbnail and the form travel with it
        adapter.upload_limit = limit
        smaller = await fake.answer(chat, fake.text(chat, ALICE, ask), ("sendVideo",))
        assert len(smaller.files["video"]) <= limit < len(full)
        assert_h264(smaller.files["video"], 41)
        adapter.upload_limit = 200
        named = fake.text(chat, ALICE, ask)
        answer = await said(fake, chat, named, "does not fit the 0.0 MB this chat takes")
        label = re.search(r"Video #([\d.]+)", answer.params["text"])
        assert label is not None
        await said(fake, chat, fake.text(chat, ALICE, "/history"), f"#{label[1]}")
        assert not fake.results(chat, named)
        done = await app.store.jobs((JobStatus.DONE,))
        images = [await app.store.get_image(i) for job in done for i in job.image_ids]
        assert len(images) == 3 and all(i and i.path.suffix == ".mp4" for i in images)

        adapter.upload_limit = 50 * 2**20  # more than the server takes: it answers 413
        fake.upload_limit = 100
        refused = fake.text(chat, ALICE, ask)
        await fake.wait(lambda: fake.find("sendVideo", result="413"), what="a 413")
        await app.idle()
        fake.upload_limit = 50 * 2**20
        await said(fake, chat, fake.text(chat, ALICE, "/quota"), "1 of your results could not")
        assert not fake.results(chat, refused)
