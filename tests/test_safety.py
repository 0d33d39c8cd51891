"""The content filter through the bot: prompt words in their disguises refused before anything
is taken, flagged results sent by each place's policy, the moderation stream and the Report
button (fake generator and replier over a real database); the image check on the tiny
models with a tiny classifier whose verdict is set.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from bot.chat.command import Action, Destination
from bot.commands.promptfilter import built_in, matches, normalise
from bot.jobs.policy import ALLOW, BLOCK, SPOILER, effective
from generation.request import GenerationRequest
from storage.records import FlagKind, FlagStatus, ImageFlag, JobStatus
from storage.store import Store
from tests.botkit import FakeGenerator, Kit, Made, cmd, make_bot

SMALL = "--size 64x64 --steps 2 --prior-steps 2"
ADMIN = "test:root"
DISGUISES = ("NUDE", "Nüde", "nud3", "n.u.d.e", "a n u d e", "nuuude", "nudе", "ｎｕｄｅ")
"""`nude` (on the built-in list) as people disguise it; the sixth has a Cyrillic е."""


class FlaggingGenerator(FakeGenerator):
    """The fake generator, with every image flagged by the image check while `flag` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.flag = True

    async def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Made]:
        made = await super().generate_batch(requests, progress, cancel)
        if not self.flag:
            return made
        return [dataclasses.replace(m, flagged=tuple(0.97 for _ in m.images)) for m in made]


async def ask(
    kit: Kit, user: str, name: str, text: str = "", *, chat: str | None = None, **extra: Any
) -> None:
    command = cmd(user, name, text, **extra)
    await kit.bot.handle(command if chat is None else dataclasses.replace(command, chat_id=chat))
    await kit.idle()


def last_text(kit: Kit, user: str) -> str:
    return kit.replier.said(user)[-1]


# -- matching ----------------------------------------------------------------------------------
def test_a_listed_word_is_found_in_its_disguises_and_not_inside_other_words() -> None:
    words = built_in()
    for disguise in DISGUISES:
        assert matches(f"a {disguise} portrait", words), disguise
    for innocent in ("denuded hills", "a red fox", "4k photo of Essex", "sussex", "h e l l o"):
        assert not matches(innocent, words), innocent
    assert normalise("ПОРНО") == normalise("порно")  # a Russian word too
    assert matches("a nuuude nudde portrait", words)  # repeats of a word without doubles
    doubled = [normalise("ass")]  # a word with doubled letters keeps them
    assert matches("a$$", doubled) and matches("asssss", doubled)
    assert not matches("as good as new", doubled) and not matches("a s", doubled)
    assert matches("Порн0", [normalise("порно")])


def test_a_place_allows_plain_pictures_only_where_the_platform_marks_it_for_adults() -> None:
    adults = Destination("discord", "5", "1", extra={"nsfw": "1"})
    channel = Destination("discord", "5", "1")
    group = Destination("telegram", "-100", "1")
    assert effective(ALLOW, adults) == ALLOW
    assert effective(ALLOW, channel) == SPOILER == effective(ALLOW, group)
    assert effective(None, adults) == SPOILER
    assert effective(BLOCK, group) == BLOCK


# -- prompts -----------------------------------------------------------------------------------
async def test_a_banned_word_in_any_disguise_is_refused_before_quota_is_reserved(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    generator = FakeGenerator()
    kit = make_bot(store, generator, admins=frozenset({ADMIN}))
    await kit.queue.start()
    await ask(kit, "root", "admin", "filter add Glorp Zonk")
    assert last_text(kit, "root") == "The prompt filter now lists that word."
    for n, prompt in enumerate([*DISGUISES, "gl0rp z.o.n.k", "GLÖRP   ZONK"]):
        await ask(kit, "pat", "imagine", f"a {prompt} on a beach {SMALL}", source=f"s{n}")
        answer = last_text(kit, "pat")
        assert answer.startswith("Sorry, I can't draw that prompt here"), (prompt, answer)
    user = await store.find_user("test", "pat")
    assert user is not None
    assert (await store.quota(user.id)).used_today == 0
    assert await store.jobs(tuple(JobStatus), user.id) == []
    assert generator.calls == 0
    refused = [entry for entry in await store.flags(50) if entry.kind is FlagKind.PROMPT]
    assert len(refused) == len(DISGUISES) + 2 and all(e.user_id == user.id for e in refused)
    # No word of either list in any reply or any log line at INFO.
    words = ["glorp", "zonk", "nude", *DISGUISES]
    replies = [message for _, message in kit.replier.texts if "filter" not in message]
    logged = [r.getMessage().lower() for r in caplog.records if r.levelno >= logging.INFO]
    for word in words:
        assert not any(word.lower() in reply.lower() for reply in replies), word
        assert not any(word.lower() in line for line in logged), word
    entries = [e for e in await store.audit_log(10) if e.action == "filter"]
    assert entries and all("glorp" not in e.target.lower() for e in entries)
    await kit.queue.stop()


async def test_the_operator_manages_the_word_list_and_may_switch_the_built_in_one_off(
    store: Store,
) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({ADMIN}))
    await kit.queue.start()
    await ask(kit, "root", "admin", "filter add  W1dget ")
    await ask(kit, "root", "admin", "filter add widget")
    assert last_text(kit, "root") == "The prompt filter lists that word already."
    await ask(kit, "root", "admin", "filter list")
    assert last_text(kit, "root") == "Listed words: W1dget. Built-in list: on."
    await ask(kit, "root", "admin", "filter defaults off")
    await ask(kit, "pat", "imagine", f"a nude statue {SMALL}")  # art: fine once off
    assert "Queued as job" in kit.replier.progress[-1][1] or kit.replier.images
    await ask(kit, "root", "admin", "filter remove WIDGET")
    assert last_text(kit, "root") == "That word is no longer listed."
    await ask(kit, "root", "admin", "filter remove widget")
    assert last_text(kit, "root") == "The prompt filter does not list that word."
    await ask(kit, "root", "admin", "filter defaults on")
    await ask(kit, "pat", "imagine", f"a nude statue {SMALL}")
    assert last_text(kit, "pat").startswith("Sorry, I can't draw")
    await ask(kit, "pat", "admin", "filter list")  # not an admin: refused
    assert "W1dget" not in last_text(kit, "pat")
    await kit.queue.stop()


async def test_off_and_images_only_check_no_prompts(store: Store) -> None:
    for mode in ("off", "images"):
        kit = make_bot(store, FakeGenerator(), safety=mode)
        await kit.queue.start()
        await ask(kit, f"u-{mode}", "imagine", f"a nude statue {SMALL}")
        assert len(kit.replier.images) == 1, mode
        await kit.queue.stop()


# -- flagged results ---------------------------------------------------------------------------
async def test_a_flagged_result_goes_behind_a_spoiler_by_default(store: Store) -> None:
    kit = make_bot(store, FlaggingGenerator())
    await kit.queue.start()
    await ask(kit, "pat", "imagine", f"a fox --n 2 {SMALL}")
    (_, images, caption, buttons) = kit.replier.images[-1]
    assert [image.spoiler for image in images] == [True, True]
    assert "The safety check flagged #1.1 #1.2" in caption
    assert buttons[-1].action is Action.REPORT
    user = await store.find_user("test", "pat")
    assert user is not None
    assert (await store.quota(user.id)).used_today == 2
    history, _ = await store.history(user.id)
    assert {image.flag for image in history} == {ImageFlag.FLAGGED}
    await kit.queue.stop()


async def test_a_blocked_result_is_not_sent_and_an_admin_can_clear_it(store: Store) -> None:
    generator = FlaggingGenerator()
    kit = make_bot(store, generator, admins=frozenset({ADMIN}))
    await kit.queue.start()
    # The admin sets the policy of pat's chat from that chat.
    await ask(kit, "root", "admin", "policy block", chat="chat-pat")
    assert last_text(kit, "root") == "Flagged pictures here: block."
    await ask(kit, "root", "admin", "policy allow", chat="chat-pat")
    assert last_text(kit, "root").startswith("Flagged pictures can be shown plainly only")
    await ask(kit, "pat", "imagine", f"a fox {SMALL}")
    assert kit.replier.images == []
    assert last_text(kit, "pat") == (
        "Job #1: the safety check held back #1; it was not sent here. It stays in your "
        "/history, and an admin may release it."
    )
    user = await store.find_user("test", "pat")
    assert user is not None
    assert (await store.quota(user.id)).used_today == 1  # the work was done: no refund
    await ask(kit, "pat", "history")
    assert last_text(kit, "pat").splitlines()[-1].endswith("· ⚠️")
    # A refused prompt joins the stream; the admin reads both.
    await ask(kit, "pat", "imagine", f"n_u_d_e {SMALL}")
    await ask(kit, "root", "admin", "flagged")
    lines = last_text(kit, "root").splitlines()
    assert len(lines) == 2
    assert " · prompt · " in lines[0] and "nude" not in lines[0].lower()
    assert " · image · " in lines[1] and " · #1 · 0.97 · " in lines[1]
    assert lines[1].startswith("[1] ") and lines[1].endswith(" · open")
    await ask(kit, "root", "admin", "flagged clear 1")
    assert last_text(kit, "root") == "Entry [1] cleared; its picture goes to its owner."
    (who, images, caption, _) = kit.replier.images[-1]
    assert who == "pat" and [image.spoiler for image in images] == [False]
    assert caption == "An admin checked #1 and released it."
    await ask(kit, "root", "admin", "flagged clear 1")
    assert last_text(kit, "root") == "There is no open entry [1]."
    cleared = await store.get_flag(1)
    assert cleared is not None and cleared.status is FlagStatus.CLEARED
    await ask(kit, "root", "admin", "flagged ban 2 words")
    assert (await store.get_user(user.id)).banned
    await kit.queue.stop()


async def test_a_user_reports_a_result_with_its_button(store: Store) -> None:
    generator = FlaggingGenerator()
    generator.flag = False
    kit = make_bot(store, generator, admins=frozenset({ADMIN}))
    await kit.queue.start()
    await ask(kit, "pat", "imagine", f"a fox {SMALL}")
    (_, images, _, buttons) = kit.replier.images[-1]
    assert [image.spoiler for image in images] == [False]
    report = buttons[-1]
    assert report.action is Action.REPORT
    await ask(kit, "sam", "report", reply_image_id=report.image_id)  # someone else saw it
    assert last_text(kit, "sam") == "Thank you: picture #1 was reported to the admins."
    (entry,) = await store.flags()
    assert (entry.kind, entry.image_id, entry.status) == (
        FlagKind.REPORT,
        report.image_id,
        FlagStatus.OPEN,
    )
    image = await store.get_image(report.image_id)
    assert image is not None and image.flag == ImageFlag.REPORTED
    await kit.queue.stop()


# -- the image check on the engine -------------------------------------------------------------
@pytest.mark.parametrize("flags", [False, True])
def test_the_image_check_runs_on_every_image_of_a_call_with_the_real_pipeline(
    tiny_settings: Settings, tmp_path: Path, flags: bool
) -> None:
    from bot.app.root import build_generation
    from generation.engine.tiny_classifier import build_tiny_classifier

    classifier = build_tiny_classifier(tmp_path / "classifier", flags=flags)
    settings = dataclasses.replace(tiny_settings, safety="images", safety_model=str(classifier))
    service = build_generation(settings)
    try:
        requests = [
            service.prepare(
                GenerationRequest(prompt=p, model="2.2", width=64, height=64, steps=2, seed=1)
            )
            for p in ("a fox", "a hare")
        ]
        made = service.run(requests)
        (cache,) = service.caches
        assert "safety-classifier" in cache.loaded()
        loads = cache.loads
        again = service.run(requests[:1])  # loaded once, cached
        assert cache.loads == loads
    finally:
        service.close()
    for result in (*made, *again):
        assert len(result.flagged) == len(result.images) == 1
        assert all((score is not None and score > 0.99) == flags for score in result.flagged)
        assert result.made <= result.checked <= result.encoded


def test_a_video_is_checked_by_its_first_middle_and_last_frames() -> None:
    from PIL import Image

    from generation.engine.safety import check_images

    seen: list[list[Image.Image]] = []

    def classifier(images: list[Image.Image], **_: object) -> list[list[dict[str, object]]]:
        """Red is not safe: the share of a frame's red as its score."""
        seen.append(images)
        return [[{"label": "nsfw", "score": image.getpixel((0, 0))[0] / 255}] for image in images]

    def frame(red: int) -> Image.Image:
        return Image.new("RGB", (8, 8), (red, 0, 0))

    video = [frame(0), frame(255), frame(0), frame(0), frame(0)]  # red between the looked-at
    later = [frame(0), frame(0), frame(0), frame(0), frame(255)]
    scores = check_images(classifier, [frame(0), video, later, [frame(255)]], 0.5)
    assert scores == (None, None, 1.0, 1.0)  # a video's highest of its three frames
    assert [len(call) for call in seen] == [1 + 3 + 3 + 1]  # one batch for the call


def test_without_images_in_the_mode_nothing_is_checked(tiny_settings: Settings) -> None:
    from bot.app.root import build_generation, safety_mode

    assert safety_mode(tiny_settings) in ("prompts", "both")  # unset: by what is downloaded
    service = build_generation(dataclasses.replace(tiny_settings, safety="prompts"))
    try:
        request = GenerationRequest(prompt="a fox", model="2.2", width=64, height=64, steps=2)
        (made,) = service.run([service.prepare(request)])
    finally:
        service.close()
    assert made.flagged == () and "safety-classifier" not in service.caches[0].loaded()


def test_the_settings_and_the_start_up_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app.root import announce_safety, safety_mode
    from bot.app.settings import SettingsError
    from generation.engine.tiny_classifier import build_tiny_classifier

    read = Settings.from_env(
        {"KBOT_SAFETY": "Images", "KBOT_SAFETY_THRESHOLD": "0.8", "KBOT_SAFETY_MODEL": "x/y"},
        dotenv=None,
    )
    assert (read.safety, read.safety_threshold, read.safety_model) == ("images", 0.8, "x/y")
    for bad in ({"KBOT_SAFETY": "strict"}, {"KBOT_SAFETY_THRESHOLD": "0"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad, dotenv=None)
    unset = Settings.from_env({"KBOT_SAFETY": ""}, dotenv=None)
    assert unset.safety is None and unset.safety_model == "Falconsai/nsfw_image_detection"
    missing = dataclasses.replace(unset, safety_model=str(tmp_path / "not-here"))
    here = dataclasses.replace(unset, safety_model=str(build_tiny_classifier(tmp_path / "c")))
    assert (safety_mode(missing), safety_mode(here)) == ("prompts", "both")
    caplog.set_level(logging.INFO)
    announce_safety(missing, "prompts")
    announce_safety(here, "both")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app.root"]
    assert lines[0].startswith("content filter (KBOT_SAFETY=prompts): prompts are checked")
    assert "is not downloaded" in lines[0] and "download-models" in lines[0]
    assert lines[1].startswith("content filter (KBOT_SAFETY=both): prompts and results")


async def test_linking_two_accounts_keeps_their_moderation_entries(store: Store) -> None:
    one = await store.ensure_user("telegram", "1", "ann")
    two = await store.ensure_user("discord", "2", "ann")
    await store.add_flag(FlagKind.PROMPT, two.id, "discord:5")
    await store.create_link_code(one.id, "code", datetime.now(UTC) + timedelta(minutes=5))
    assert await store.redeem_link_code("code", "discord", "2", "ann") is not None
    (entry,) = await store.flags()
    assert entry.user_id == one.id
