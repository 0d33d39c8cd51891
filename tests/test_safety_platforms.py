"""The content filter through the fake Telegram and Discord servers, on the tiny models with a
tiny classifier that flags every picture: a spoiler where the place keeps the default, nothing
in a place that blocks (its owner told, the quota kept), plainly in an age-restricted Discord
channel set to allow; a disguised banned word refused before the quota is reserved;
`/admin flagged` lists both, and clearing an entry delivers its picture.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from generation.engine.tiny_classifier import build_tiny_classifier
from tests.fake_discord import GUILD_ID, FakeDiscord, user
from tests.fake_telegram import BOT_USERNAME, FakeTelegram, User
from tests.test_discord import TINY, running
from tests.test_discord import TOKEN as DISCORD_TOKEN
from tests.test_telegram import GROUP, SMALL, LogGuard, said, serving

TELEGRAM_TOKEN = "123456:TEST-TOKEN-abcdef"
ALICE = User(1, "Alice", "alice", "en")  # an admin
BOB = User(2, "Bob", "bob", "en")
FAST = "--prior-steps 2"


@pytest.fixture(scope="module")
def flagging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier whose verdict on every picture is `nsfw`."""
    return build_tiny_classifier(tmp_path_factory.mktemp("flagging"), flags=True)


def no_word_logged(caplog: pytest.LogCaptureFixture, *words: str) -> None:
    lines = [r.getMessage().lower() for r in caplog.records if r.levelno >= logging.INFO]
    for word in words:
        assert not any(word in line for line in lines), word


async def test_telegram_spoilers_blocks_refuses_and_releases(
    tiny_settings: Settings, tmp_path: Path, flagging: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram(TELEGRAM_TOKEN) as fake:
        settings = dataclasses.replace(
            tiny_settings,
            data_dir=tmp_path / "data",
            telegram_token=TELEGRAM_TOKEN,
            telegram_base_url=fake.base_url,
            admins=frozenset({"telegram:1"}),
            progress_interval=0.0,
            safety="both",
            safety_model=str(flagging),
        )
        async with serving(fake, settings, LogGuard()) as (app, _):
            # The group holds flagged pictures back; Alice's private chat keeps the default.
            asked = fake.text(GROUP, ALICE, f"/admin@{BOT_USERNAME} policy block")
            await said(fake, GROUP, asked, "Flagged pictures here: block.")
            in_group = fake.text(GROUP, BOB, f"/imagine@{BOT_USERNAME} a fox in a group {SMALL}")
            await said(fake, GROUP, in_group, "the safety check held back")
            private = fake.text(ALICE.id, ALICE, f"/imagine a fox {SMALL}")
            photo = await fake.answer(ALICE.id, private, ("sendPhoto",))
            assert photo.params["has_spoiler"] is True
            assert photo.result["has_media_spoiler"] is True
            assert "The safety check flagged" in photo.params["caption"]
            assert fake.find("sendPhoto", chat_id=GROUP) == []
            # Its 🚩 button reports it to the admins.
            (report,) = [k for k in photo.keyboard if k["callback_data"].startswith("kb:report:")]
            shown, mark = photo.result["message_id"], fake.mark()
            fake.press(ALICE.id, ALICE, shown, report["callback_data"])
            await said(fake, ALICE.id, shown, "was reported to the admins", after=mark)
            # A disguised word of the built-in list: refused, nothing reserved.
            refused = fake.text(BOB.id, BOB, f"/imagine a N.U.D.3 fox {SMALL}")
            await said(fake, BOB.id, refused, "can't draw that prompt")
            bob = await app.store.find_user("telegram", str(BOB.id))
            assert bob is not None
            assert (await app.store.quota(bob.id)).used_today == 1  # the held-back job only
            # The admin reads both, and clears the held-back picture: it reaches the group.
            listing = fake.text(ALICE.id, ALICE, "/admin flagged")
            lines = (await said(fake, ALICE.id, listing, " · prompt · ")).params["text"]
            assert " · report · " in lines
            (held,) = [
                line
                for line in lines.splitlines()
                if f"telegram:{GROUP}" in line and "image" in line
            ]
            entry = re.match(r"\[(\d+)\]", held)
            assert entry is not None
            clear = fake.text(ALICE.id, ALICE, f"/admin flagged clear {entry.group(1)}")
            await said(fake, ALICE.id, clear, "cleared")
            released = await fake.answer(GROUP, in_group, ("sendPhoto",))
            assert not released.params.get("has_spoiler")
            assert "released it" in released.params["caption"]
    no_word_logged(caplog, "nud", "n.u.d")


def _in_adults_channel(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "channel": {**payload["channel"], "nsfw": True}}


async def test_discord_spoiler_then_allow_in_an_age_restricted_channel(
    tiny_settings: Settings, tmp_path: Path, flagging: Path
) -> None:
    settings = dataclasses.replace(
        tiny_settings,
        data_dir=tmp_path / "data",
        discord_token=DISCORD_TOKEN,
        discord_guilds=(GUILD_ID,),
        admins=frozenset({"discord:1001"}),
        progress_interval=0.0,
        safety="both",
        safety_model=str(flagging),
    )
    alice, bob = user(1001, "alice"), user(1002, "bob")
    async with FakeDiscord(DISCORD_TOKEN) as fake, running(settings, fake) as world:
        make = world.make
        refused = await world.ask(make.slash("admin", alice, {"policy": "allow"}, sub="policy"))
        assert (await world.answer(refused)).startswith("Flagged pictures can be shown plainly")
        token = await world.ask(make.slash("imagine", bob, {"prompt": f"a fox {FAST}", **TINY}))
        hidden = await world.result(token)
        assert [upload.filename[:8] for upload in hidden.files] == ["SPOILER_"]
        assert "image" not in hidden.json["embeds"][0]
        allow = make.slash("admin", alice, {"policy": "allow"}, sub="policy")
        allowed = await world.ask(_in_adults_channel(allow))
        assert await world.answer(allowed) == "Flagged pictures here: allow."
        asked = make.slash("imagine", bob, {"prompt": f"a fox {FAST}", **TINY})
        plain = await world.result(await world.ask(_in_adults_channel(asked)))
        (upload,) = plain.files
        assert not upload.filename.startswith("SPOILER_")
        assert plain.json["embeds"][0]["image"]["url"] == f"attachment://{upload.filename}"
