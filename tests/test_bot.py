"""The bot core with a real store (SQLite and PostgreSQL) and fakes of our own interfaces."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bot.chat.command import Action, Button, Command, Destination
from bot.chat.replier import ProgressRef
from bot.jobs.spans import STAGES, read_spans
from generation.request import RequestError
from storage.records import JobStatus
from storage.store import Store
from tests.botkit import FakeGenerator, FakeReplier, Kit, cmd, make_bot

SMALL = "--size 64x64 --steps 2 --prior-steps 2"
CYRILLIC = re.compile("[А-Яа-яЁё]")


async def test_quota_holds_under_200_concurrent_requests(store: Store) -> None:
    await store.ensure_user("test", "alice", "alice")
    user = await store.find_user("test", "alice")
    assert user is not None
    await store.set_daily_limit(user.id, 10)
    kit = make_bot(store, FakeGenerator(), user_queue=1000, queue_size=1000)
    await kit.queue.start()
    await asyncio.gather(
        *(kit.bot.handle(cmd("alice", "imagine", f"fox {n} {SMALL}")) for n in range(200))
    )
    await kit.idle()
    done = await store.jobs((JobStatus.DONE,), user.id)
    assert len(done) == 10
    refusals = [t for t in kit.replier.said("alice") if "no images left today" in t]
    assert len(refusals) == 190
    assert len(kit.replier.images) == 10
    assert (await store.quota(user.id)).used_today == 10
    await kit.queue.stop()


async def test_failed_and_cancelled_jobs_give_quota_back(store: Store) -> None:
    generator = FakeGenerator()
    kit = make_bot(store, generator)
    await kit.queue.start()
    generator.fail_next = RuntimeError("the GPU caught fire")
    await kit.bot.handle(cmd("bob", "imagine", f"a fox --n 2 {SMALL}"))
    await kit.idle()
    user = await store.find_user("test", "bob")
    assert user is not None
    assert (await store.quota(user.id)).used_today == 0
    assert any("failed: something went wrong on our side" in t for t in kit.replier.said("bob"))
    generator.gate.clear()
    await kit.bot.handle(cmd("bob", "imagine", f"first {SMALL}"))
    await kit.bot.handle(cmd("bob", "imagine", f"second {SMALL}"))
    await asyncio.sleep(0.05)
    assert (await store.quota(user.id)).used_today == 2
    await kit.bot.handle(cmd("bob", "cancel"))
    assert any("was cancelled and your quota refunded" in t for t in kit.replier.said("bob"))
    assert (await store.quota(user.id)).used_today == 1
    generator.gate.set()
    await kit.idle()
    statuses = sorted(job.status for job in await store.jobs(tuple(JobStatus), user.id))
    assert statuses == ["cancelled", "done", "failed"]
    await kit.queue.stop()


async def test_one_users_backlog_delays_another_by_at_most_one_job(store: Store) -> None:
    generator = FakeGenerator()
    generator.gate.clear()
    kit = make_bot(store, generator, user_queue=20)
    await kit.queue.start()
    for n in range(10):
        await kit.bot.handle(cmd("busy", "imagine", f"busy {n} {SMALL}"))
    await asyncio.sleep(0.05)  # "busy 0" is running, nine wait
    await kit.bot.handle(cmd("light", "imagine", f"light {SMALL}"))
    queued = kit.replier.progress[-1][1]
    assert "position 1" in queued
    generator.gate.set()
    await kit.idle()
    started_before = generator.order.index("light")
    assert generator.order[:started_before] in (["busy 0"], ["busy 0", "busy 1"])
    await kit.queue.stop()


async def test_bad_input_is_answered_and_not_charged(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    cases = {
        "imagine": ("x" * 10_000, "prompt is 10000 characters long"),
        "img2img": ("a fox", "Please attach a picture"),
    }
    for name, (text, words) in cases.items():
        await kit.bot.handle(cmd("gina", name, text))
        assert words in kit.replier.said("gina")[-1]
    await kit.bot.handle(cmd("gina", "imagine", "a fox --sed 4"))
    assert kit.replier.said("gina")[-1] == "unknown option --sed; did you mean --seed?"
    await kit.bot.handle(cmd("gina", "imagin", "a fox"))
    assert kit.replier.said("gina")[-1] == "I don't know /imagin. Did you mean /imagine?"
    await kit.bot.handle(cmd("gina", "imagine", "a fox --size 700x512"))
    assert kit.replier.said("gina")[-1] == (
        "--size 700x512: both sides must be multiples of 64, and 700 is not"
    )
    await kit.bot.handle(cmd("gina", "imagine", 'x --neg "oops --size 64x64'))
    assert kit.replier.said("gina")[-1] == (
        'the quote " after --neg is never closed (at "oops --size 64x64); '
        'put a closing " where the value ends'
    )
    user = await store.find_user("test", "gina")
    assert user is not None and (await store.quota(user.id)).used_today == 0
    assert await store.count_active() == 0
    await kit.queue.stop()


async def test_a_handler_error_is_logged_once_and_answered(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: object) -> object:
        raise ZeroDivisionError("boom")

    kit = make_bot(store, FakeGenerator(), prepare_fn=broken)  # type: ignore[arg-type]
    await kit.bot.handle(cmd("hank", "imagine", "a fox"))
    assert kit.replier.said("hank") == [
        "Something went wrong on our side; please try again in a moment."
    ]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is not None


async def test_quota_resets_daily(store: Store) -> None:
    user = await store.ensure_user("test", "ivy", "ivy")
    await store.set_daily_limit(user.id, 1)
    assert await store.reserve_quota(user.id, 1)
    assert not await store.reserve_quota(user.id, 1)
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert await store.reserve_quota(user.id, 1, now=tomorrow)


def test_request_error_is_the_one_error_type() -> None:
    from bot.chat.grammar import GrammarError

    assert issubclass(GrammarError, RequestError)


async def test_link_joins_two_platforms_into_one_identity(store: Store) -> None:
    from tests.botkit import FakeReplier

    kit = make_bot(store, FakeGenerator())
    other = FakeReplier()
    kit.repliers["other"] = other
    await kit.queue.start()
    await kit.bot.handle(cmd("tg-7", "imagine", f"on the first platform {SMALL}"))
    await kit.idle()
    await kit.bot.handle(cmd("tg-7", "link"))
    code = kit.replier.said("tg-7")[-1].split("Your link code is ")[1].split(".")[0]
    assert len(code) == 8
    wrong = dataclasses.replace(cmd("dc-9", "link", "WRONG123"), platform="other")
    await kit.bot.handle(wrong)
    assert "wrong or has expired" in other.said("dc-9")[-1]
    await kit.bot.handle(dataclasses.replace(cmd("dc-9", "link", code.lower()), platform="other"))
    assert other.said("dc-9")[-1].startswith("Linked.")
    await kit.bot.handle(dataclasses.replace(cmd("dc-9", "history"), platform="other"))
    assert "on the first platform" in other.said("dc-9")[-1]
    first = await store.find_user("test", "tg-7")
    second = await store.find_user("other", "dc-9")
    assert first is not None and second is not None and first.id == second.id
    await kit.bot.handle(
        dataclasses.replace(cmd("dc-9", "imagine", f"from the other {SMALL}"), platform="other")
    )
    await kit.idle()
    assert (await store.quota(first.id)).used_today == 2
    await kit.bot.handle(dataclasses.replace(cmd("dc-9", "link", code), platform="other"))
    assert "wrong or has expired" in other.said("dc-9")[-1], "a code works once"
    await kit.queue.stop()


async def test_an_expired_link_code_is_refused(store: Store) -> None:
    user = await store.ensure_user("test", "old", "old")
    await store.create_link_code(user.id, "EXPIRED1", datetime.now(UTC) - timedelta(seconds=1))
    kit = make_bot(store, FakeGenerator())
    await kit.bot.handle(cmd("new", "link", "EXPIRED1"))
    assert "wrong or has expired" in kit.replier.said("new")[-1]


async def test_init_takes_a_picture_for_the_next_command(store: Store) -> None:
    from bot.chat.command import Attachment
    from tests.helpers import png

    generator = FakeGenerator()
    kit = make_bot(store, generator)
    await kit.queue.start()
    picture = Attachment(png(), "p.png", "image/png")
    await kit.bot.handle(cmd("ida", "init", reply_attachments=(picture,)))
    assert "That picture will be the starting picture" in kit.replier.said("ida")[-1]
    await kit.bot.handle(cmd("ida", "img2img", f"a painting --strength 0.5 {SMALL}"))
    await kit.idle()
    user = await store.find_user("test", "ida")
    assert user is not None
    [job] = await store.jobs((JobStatus.DONE,), user.id)
    assert job.request.init_image == picture.data
    await kit.queue.stop()


async def test_a_failing_adapter_does_not_stop_the_queue(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    kit = make_bot(store, FakeGenerator())

    async def broken(*args: object, **options: object) -> None:
        raise ConnectionError("the platform is down")

    kit.replier.send_images = broken  # type: ignore[method-assign]
    await kit.queue.start()
    await kit.bot.handle(cmd("jon", "imagine", f"first {SMALL}"))
    await kit.queue.wait_idle()
    await kit.bot.handle(cmd("jon", "imagine", f"second {SMALL}"))
    await kit.queue.wait_idle()
    user = await store.find_user("test", "jon")
    assert user is not None
    assert len(await store.jobs((JobStatus.DONE,), user.id)) == 2
    await kit.outbox.sender.stop()  # the results wait in the outbox, tried again later
    assert "ConnectionError: the platform is down; trying again in" in caplog.text
    await kit.queue.stop()


async def test_the_embedded_queue_feeds_the_metrics(store: Store) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    images = sample("kbot_images_total", model="2.2", task="text2img")
    waits = sample("kbot_job_wait_seconds_count", model="2.2", task="text2img")
    failures = sample("kbot_job_failures_total", reason="internal")
    generator = FakeGenerator()
    kit = make_bot(store, generator)
    await kit.queue.start()
    await kit.bot.handle(cmd("kai", "imagine", f"a fox --n 2 {SMALL}"))
    await kit.idle()
    generator.fail_next = RuntimeError("out of memory")
    await kit.bot.handle(cmd("kai", "imagine", f"another {SMALL}"))
    await kit.idle()
    assert sample("kbot_images_total", model="2.2", task="text2img") == images + 2
    assert sample("kbot_job_wait_seconds_count", model="2.2", task="text2img") == waits + 2
    assert sample("kbot_job_failures_total", reason="internal") == failures + 1
    assert sample("kbot_queue_depth") == 0 and sample("kbot_jobs_running") == 0
    await kit.queue.stop()


async def test_bad_input_is_answered_in_the_users_language(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()

    async def answer(user: str, text: str, name: str = "imagine", **extra: object) -> str:
        await kit.bot.handle(cmd(user, name, text, **extra))
        return kit.replier.said(user)[-1]

    steps_en = "steps must be between 1 and 150, got 0"
    size_en = "--size 65x65: both sides must be multiples of 64, and 65 is not"
    steps_ru = await answer("olga", "a cat --steps 0", locale="ru")
    assert steps_ru == "Параметр steps должен быть от 1 до 150; получено: 0"
    size_ru = await answer("olga", "a cat --size 65x65", locale="ru-RU")
    assert size_ru == "--size 65x65: обе стороны должны быть кратны 64, а 65 — нет"
    assert "width" not in size_ru
    assert await answer("ed", "a cat --steps 0", locale="en") == steps_en
    assert await answer("ed", "a cat --size 65x65") == size_en

    grammar_ar = await answer("amal", "a cat --steps ten", locale="ar")
    assert "عددًا صحيحًا" in grammar_ar and "--steps" in grammar_ar and "'ten'" in grammar_ar
    assert "whole number" not in grammar_ar
    matrix_ar = await answer("amal", "a cat | a dog --model 3", name="mix", locale="ar")
    assert matrix_ar == "لا يحتوي Kandinsky 3 على prior، لذا لا يمكنه المزج؛ جرّب النموذج 2.2"

    assert CYRILLIC.search(await answer("ed", "ru", name="language"))
    chosen = await answer("ed", "a cat --model 4", locale="en")
    assert chosen == "Параметр --model должен быть одним из: 2.1, 2.2, 3, 5, 5v; получено: '4'"
    reset = await answer("olga", "", name="quota", locale="ru")
    assert re.search(r"через \d+ (с|мин|ч)\.$", reset), reset

    for user in ("olga", "ed", "amal"):
        record = await store.find_user("test", user)
        assert record is not None and (await store.quota(record.id)).used_today == 0
    await kit.queue.stop()


async def test_an_adapters_refusal_is_answered_in_the_chosen_language(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    await kit.bot.handle(cmd("ed", "language", "ru", locale="en"))
    refusal = RequestError.of(
        "file", "cat.png", "file_over_download_limit", name="cat.png", size=25.0, limit=20.0
    )
    await kit.bot.handle(cmd("ed", "imagine", "a cat", locale="en", refusal=refusal))
    assert kit.replier.said("ed")[-1] == (
        "Файл cat.png весит 25.0 МБ; я могу скачивать файлы до 20 МБ"
    )
    record = await store.find_user("test", "ed")
    assert record is not None and (await store.quota(record.id)).used_today == 0
    assert not kit.replier.progress, "no job was queued"
    await kit.queue.stop()


async def test_a_job_remembers_the_language_its_results_are_worded_in(store: Store) -> None:
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    await kit.bot.handle(cmd("olga", "imagine", f"a cat {SMALL}", locale="ru"))
    await kit.idle()
    user = await store.find_user("test", "olga")
    assert user is not None
    (job,) = await store.jobs((JobStatus.DONE,), user.id)
    assert job.destination["extra"]["language"] == "ru"
    assert kit.replier.progress[0][1].startswith("Задание #")
    await kit.queue.stop()


async def test_a_job_failing_on_a_request_error_is_told_in_the_users_language(
    store: Store,
) -> None:
    """A refusal found while running (a picture the engine cannot use) is stored with its id."""
    generator = FakeGenerator()
    kit = make_bot(store, generator)
    await kit.queue.start()
    refusal = RequestError.of("image", None, "needs_picture", task="img2img")
    for user, locale in (("olga", "ru"), ("ed", "en")):
        generator.fail_next = refusal
        await kit.bot.handle(cmd(user, "imagine", f"a cat {SMALL}", locale=locale))
        await kit.idle()
    said_ru, said_en = kit.replier.said("olga")[-1], kit.replier.said("ed")[-1]
    assert said_en == (
        "Sorry, job #2 failed: img2img needs a picture to start from. Your quota was refunded."
    )
    assert CYRILLIC.search(said_ru) and "needs a picture" not in said_ru, said_ru
    olga = await store.find_user("test", "olga")
    assert olga is not None
    (job,) = await store.jobs((JobStatus.FAILED,), olga.id)
    assert job.error is not None and "needs_picture" in job.error
    assert (await store.quota(olga.id)).used_today == 0
    await kit.queue.stop()


def test_stored_reasons_fall_back_to_their_own_words() -> None:
    from bot.i18n.catalogue import describe_reason, reason_of

    assert describe_reason("internal", "ru") == "internal"
    assert describe_reason("error:{not json", "ru") == "error:{not json"
    assert describe_reason('error:{"id": "no_such_id", "values": {}}', "ru").startswith("error:")
    plain = RequestError("image", None, "a ready sentence")
    assert reason_of(plain) == "a ready sentence"
    catalogued = RequestError.of("image", None, "needs_picture", task="depth")
    assert describe_reason(reason_of(catalogued), "en") == str(catalogued)


def _batching_kit(store: Store, generator: FakeGenerator) -> Kit:
    """A bot whose embedded queue batches up to 8 jobs and would wait 10 minutes to fill a
    batch: gathering ends when no command is left to handle, not by the clock."""
    from bot.jobs.local import LocalQueue
    from generation.batching import batch_key

    def batching(notifier: Any, repliers: dict[str, Any]) -> LocalQueue:
        return LocalQueue(
            store,
            generator,
            notifier,
            platforms=repliers,
            max_batch=8,
            batch_key=batch_key,
            batch_window=600.0,
        )

    return make_bot(store, generator, queue_maker=batching)


async def test_requests_arriving_together_run_as_one_call(store: Store) -> None:
    """Eight users at once: one pipeline call, each user with their own result."""
    generator = FakeGenerator()
    kit = _batching_kit(store, generator)
    await kit.queue.start()
    users = [f"user{n}" for n in range(8)]
    await asyncio.gather(*(kit.bot.handle(cmd(u, "imagine", f"a fox {SMALL}")) for u in users))
    await kit.idle()
    assert generator.calls == 1
    assert sorted(who for who, *_ in kit.replier.images) == sorted(users)
    await kit.queue.stop()


async def test_a_request_alone_does_not_wait_for_a_batch(store: Store) -> None:
    generator = FakeGenerator()
    kit = _batching_kit(store, generator)
    await kit.queue.start()
    await kit.bot.handle(cmd("solo", "imagine", f"a fox {SMALL}"))
    await asyncio.wait_for(kit.idle(), timeout=60)  # far less than the window
    assert generator.calls == 1
    await kit.queue.stop()


HUGE = "99999999999999999999"
DIGITS = "1" * 4400  # past the digits Python turns into a number


def button_press(user: str, data: str) -> Command:
    """The command an adapter makes of a press on a button carrying `data`."""
    parsed = Button.parse(data)
    assert parsed is not None, data
    action, image_id = parsed
    return cmd(user, str(action), reply_image_id=image_id)


async def test_ids_that_cannot_exist_are_not_found(store: Store) -> None:
    kit = make_bot(store, FakeGenerator(), admins=frozenset({"test:root"}))
    await kit.queue.start()
    await kit.bot.handle(cmd("pat", "imagine", f"a fox {SMALL}"))  # pat has job and image #1
    await kit.idle()

    async def answer(command: Command) -> str:
        await kit.bot.handle(command)
        return kit.replier.said(command.user_id)[-1]

    for action in Action:
        for number in (HUGE, str(2**31), "0"):
            said = await answer(button_press("pat", f"kb:{action}:{number}"))
            assert said == f"There is no image #{number}.", (action, number)
    assert await answer(cmd("pat", "show", reply_image_id=int(HUGE))) == (
        f"There is no image #{HUGE}."
    )
    for name in ("show", "reroll", "variations", "init"):
        for word in (HUGE, f"#{HUGE}", "-1", DIGITS):
            said = await answer(cmd("pat", name, word))
            assert said == f"There is no image #{word.removeprefix('#')[:24]}.", (name, word)
    for word in (HUGE, f"#{HUGE}", DIGITS):
        said = await answer(cmd("pat", "cancel", word))
        assert said == f"There is no job #{word.removeprefix('#')[:24]}."
    for word in (HUGE, DIGITS, "2"):
        said = await answer(cmd("pat", "history", word))
        assert said == f"There is no page {word[:24]}. The last page of your images is 1: " + (
            "/history 1"
        )
    assert (await answer(cmd("pat", "history", "1"))).startswith("Your images, page 1 of 1")
    assert (await answer(cmd("ann", "history", "2"))).startswith("You have no images yet")
    for word in (HUGE, DIGITS):
        said = await answer(cmd("root", "admin", f"cancel {word}"))
        assert said == f"There is no job #{word[:24]}."
    for words in (f"quota set test:pat {HUGE}", f"quota grant test:pat -{HUGE}"):
        assert (await answer(cmd("root", "admin", words))).startswith("Admin commands:"), words
    said = [text for _, text in kit.replier.texts]
    assert not any("went wrong" in text for text in said), said
    pat = await store.find_user("test", "pat")
    assert pat is not None and (await store.quota(pat.id)).used_today == 1
    assert await store.count_active() == 0
    await kit.queue.stop()


class HeldQueued(FakeReplier):
    """Holds every "Queued" status message until `open` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()

    async def send_progress(
        self, destination: Destination, text: str, ref: ProgressRef | None
    ) -> ProgressRef:
        if text.startswith("Queued"):
            await self.open.wait()
        return await super().send_progress(destination, text, ref)


async def until_true(check: Callable[[], bool], what: str) -> None:
    for _ in range(1500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {what}")


async def test_a_job_starts_before_its_owner_hears_it_is_queued_and_hears_in_order(
    store: Store,
) -> None:
    generator = FakeGenerator()
    kit = make_bot(store, generator)
    replier = HeldQueued()
    kit.repliers["test"] = replier
    await kit.queue.start()
    handled = asyncio.create_task(kit.bot.handle(cmd("ann", "imagine", f"a fox {SMALL}")))
    await until_true(lambda: generator.calls == 1, "pipeline call")
    await asyncio.sleep(0.1)
    assert replier.progress == [] and replier.images == [], "its news wait for the queued one"
    replier.open.set()
    await handled
    await kit.idle()
    texts = [text for _, text, _ in replier.progress]
    assert texts[0].startswith("Queued as job #1") and texts[-1] == "Job #1 is done."
    assert {ref for _, _, ref in replier.progress} == {1}, "all in one status message"
    assert len(replier.images) == 1
    (job,) = await store.jobs((JobStatus.DONE,))
    assert job.progress_ref == {"id": 1}
    await kit.queue.stop()


async def test_requests_arriving_together_do_not_wait_for_their_queued_answers(
    store: Store,
) -> None:
    """A batch waits for the commands still being handled, not for their answers."""
    generator = FakeGenerator()
    kit = _batching_kit(store, generator)
    replier = HeldQueued()
    kit.repliers["test"] = replier
    await kit.queue.start()
    users = [f"user{n}" for n in range(8)]
    handled = asyncio.gather(*(kit.bot.handle(cmd(u, "imagine", f"a fox {SMALL}")) for u in users))
    await until_true(lambda: generator.calls == 1, "pipeline call")
    replier.open.set()
    await handled
    await kit.idle()
    assert generator.calls == 1 and len(replier.images) == 8
    await kit.queue.stop()


async def test_a_jobs_stages_go_to_the_log_and_the_metrics(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def sent_total() -> float:
        value = REGISTRY.get_sample_value("kbot_job_stage_seconds_sum", {"stage": "sent"})
        return value or 0.0

    before = sent_total()
    kit = make_bot(store, FakeGenerator())
    await kit.queue.start()
    with caplog.at_level(logging.INFO, logger="bot.jobs.spans"):
        await kit.bot.handle(cmd("ann", "imagine", f"a fox {SMALL}"))
        await kit.idle()
    (job,) = await store.jobs((JobStatus.DONE,))
    marks = read_spans(caplog.text)[job.id]
    assert list(marks) == list(STAGES)
    assert [marks[stage] for stage in STAGES] == sorted(marks.values())
    assert sent_total() - before == pytest.approx(marks["sent"] - marks["recorded"], abs=1e-5)
    await kit.queue.stop()
