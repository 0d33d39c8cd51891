"""/edit and the Edit button in the bot core: which picture an edit changes, the question that
asks for the instruction, the family it goes to, its refusals, and family-5 variations.

The platforms' side (photos, replies, buttons, the Discord modal) is in test_telegram.py and
test_discord.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.chat.command import (
    Action,
    Attachment,
    Button,
    Destination,
    asked_image,
    edit_question,
)
from bot.chat.labels import image_label
from bot.chat.replier import Parts
from bot.i18n.catalogue import text
from bot.jobs.notify import result_buttons
from generation.request import GenerationRequest, Task
from storage.records import ImageRecord
from storage.store import Store
from tests.botkit import FakeGenerator, FakeReplier, Kit, cmd, make_bot
from tests.helpers import png


class Recording(FakeGenerator):
    """The bot's fake generator, keeping the requests it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[GenerationRequest] = []

    async def generate_batch(self, requests: Any, progress: Any = None, cancel: Any = None) -> Any:
        self.requests.extend(requests)
        return await super().generate_batch(requests, progress, cancel)


@dataclass
class AskingReplier(FakeReplier):
    """Records, beside the texts, which of them were questions answered by a reply."""

    questions: list[str] = field(default_factory=list)

    async def send_text(
        self, destination: Destination, text: str, *, parts: Parts | None = None
    ) -> None:
        await super().send_text(destination, text, parts=parts)
        if destination.asks:
            self.questions.append(text)


def photo(size: tuple[int, int] = (96, 64)) -> tuple[Attachment, ...]:
    return (Attachment(png(size), "photo.png", "image/png"),)


async def started(store: Store) -> tuple[Kit, Recording, AskingReplier]:
    generator = Recording()
    kit = make_bot(store, generator)
    replier = AskingReplier()
    kit.repliers["test"] = replier
    kit.replier = replier
    await kit.queue.start()
    return kit, generator, replier


async def a_result(kit: Kit, user: str, words: str = "a fox --model 5") -> ImageRecord:
    """One finished picture of `user`'s."""
    await kit.bot.handle(cmd(user, "imagine", words))
    await kit.idle()
    owner = await kit.store.find_user("test", user)
    assert owner is not None
    images, _ = await kit.store.history(owner.id, 1)
    return images[0]


async def test_an_attached_picture_is_edited_by_family_5_at_its_aspect(store: Store) -> None:
    kit, generator, replier = await started(store)
    await kit.bot.handle(cmd("kim", "edit", "make it night --seed 4", attachments=photo()))
    await kit.idle()
    (request,) = generator.requests
    assert (request.task, request.model, request.prompt, request.seed) == (
        Task.EDIT,
        "5",
        "make it night",
        4,
    )
    assert (request.width, request.height) == (1280, 768), "the listed size nearest 3:2"
    assert request.init_image == photo()[0].data
    assert replier.images and not replier.questions
    await kit.queue.stop()


async def test_an_edit_of_a_result_starts_from_the_stored_picture(store: Store) -> None:
    kit, generator, replier = await started(store)
    fox = await a_result(kit, "kim")
    stored = await store.read_image(fox)
    # replying to the result (its photo came along too: the stored picture wins)
    reply = cmd("kim", "edit", "make it night", reply_image_id=fox.id, reply_attachments=photo())
    await kit.bot.handle(reply)
    await kit.bot.handle(cmd("kim", "edit", f"#{fox.id} make it winter"))
    await kit.idle()
    edits = generator.requests[1:]
    assert [(r.task, r.prompt, r.init_image) for r in edits] == [
        (Task.EDIT, "make it night", stored),
        (Task.EDIT, "make it winter", stored),
    ]
    # someone else's result is no image at all, as for /init
    await kit.bot.handle(cmd("eve", "edit", "make it night", reply_image_id=fox.id))
    await kit.bot.handle(cmd("eve", "edit", f"#{fox.id} make it night"))
    assert replier.said("eve") == [text("en", "not_found_image", id=fox.id)] * 2
    await kit.queue.stop()


async def test_without_an_instruction_a_result_is_asked_about(store: Store) -> None:
    """The Edit button (`/edit 12`) and a bare `/edit` reply ask what to change; the
    question names the image, so a reply to it is the edit."""
    kit, generator, replier = await started(store)
    fox = await a_result(kit, "kim")
    label = image_label(fox)
    await kit.bot.handle(cmd("kim", str(Action.EDIT), "", reply_image_id=fox.id))  # the button
    await kit.bot.handle(cmd("kim", "edit", f"#{label}"))
    question = text("en", "edit_ask", mark=edit_question(label))
    await kit.idle()
    assert replier.questions == [question, question]
    assert question.startswith(f"✏️ #{label} What should change")
    assert asked_image(question) == label
    await kit.bot.handle(cmd("eve", "edit", label))
    await kit.idle()
    assert replier.said("eve") == [text("en", "not_found_image", id=label)]
    assert len(generator.requests) == 1, "nothing was drawn"
    await kit.queue.stop()


async def test_help_explains_edit_and_its_button(store: Store) -> None:
    kit, _, replier = await started(store)
    await kit.bot.handle(cmd("kim", "help", "edit"))
    await kit.bot.handle(cmd("kim", "help"))
    await kit.bot.handle(cmd("olga", "help", "/edit", locale="ru"))
    explained, general = replier.said("kim")
    assert explained == text("en", "help_edit") and "The ✏️ button" in explained
    assert "/edit (with a picture) INSTRUCTION" in general
    assert replier.said("olga") == [text("ru", "help_edit")]
    await kit.queue.stop()


async def test_an_edit_without_a_picture_or_an_instruction_says_how(store: Store) -> None:
    kit, generator, replier = await started(store)
    await kit.bot.handle(cmd("kim", "edit", "make it night"))
    await kit.bot.handle(cmd("kim", "edit", ""))
    await kit.bot.handle(cmd("kim", "edit", "", attachments=photo()))
    await kit.bot.handle(cmd("kim", "edit", "--seed 3", reply_attachments=photo()))
    need_picture, need_instruction = (
        text("en", "edit_need_picture"),
        text("en", "edit_need_instruction"),
    )
    assert replier.said("kim") == [need_picture, need_picture, need_instruction, need_instruction]
    assert "send a photo with the caption /edit make it night" in need_picture.lower()
    assert "Apps → Edit this image" in need_picture
    assert not generator.requests
    await kit.queue.stop()


async def test_an_edit_takes_the_picture_chosen_with_init(store: Store) -> None:
    kit, generator, _ = await started(store)
    fox = await a_result(kit, "kim")
    await kit.bot.handle(cmd("kim", "init", image_label(fox)))
    await kit.bot.handle(cmd("kim", "edit", "make it night"))
    await kit.idle()
    assert generator.requests[-1].init_image == await store.read_image(fox)
    await kit.queue.stop()


async def test_edit_refusals_say_what_to_do_instead(store: Store) -> None:
    kit, generator, replier = await started(store)
    for name, words in [
        ("edit", "make it night --strength 0.5"),
        ("edit", "make it night --model 2.2"),
        ("img2img", "a watercolor --model 5"),
        ("edit", "make it night --size 512x512"),
        ("imagine", "a fox --model 5 --size 512x512"),
    ]:
        await kit.bot.handle(cmd("kim", name, words, attachments=photo()))
    sizes = "1024x1024, 640x1408, 1408x640, 768x1280, 1280x768, 896x1152, 1152x896"
    listed = (
        f"Kandinsky 5 makes only these sizes: {sizes}; got --size 512x512 (--ar picks the nearest)"
    )
    assert replier.said("kim") == [
        "edit takes no strength: the instruction says what to change; leave out --strength",
        "Kandinsky 2.2 cannot edit by instruction; try model 5",
        "Kandinsky 5 changes a picture by instruction, not by strength: use /edit (task edit) "
        "and say what to change",
        listed,
        listed,
    ]
    assert not generator.requests
    await kit.queue.stop()


async def test_variations_of_a_family_5_result_are_edits_by_its_prompt(store: Store) -> None:
    kit, generator, _ = await started(store)
    fox = await a_result(kit, "kim", "a red fox --model 5 --seed 9")
    await kit.bot.handle(cmd("kim", "variations", image_label(fox)))
    await kit.bot.handle(cmd("kim", "reroll", image_label(fox)))
    await kit.idle()
    variation, reroll = generator.requests[1:]
    assert (variation.task, variation.model, variation.prompt) == (Task.EDIT, "5", "a red fox")
    assert variation.init_image == await store.read_image(fox) and variation.seed != 9
    assert (reroll.task, reroll.prompt, reroll.init_image) == (Task.TEXT2IMG, "a red fox", None)
    two = await a_result(kit, "kim", "a red fox --model 2.2")
    await kit.bot.handle(cmd("kim", "variations", image_label(two)))
    await kit.idle()
    assert (generator.requests[-1].task, generator.requests[-1].strength) == (Task.IMG2IMG, 0.6)
    await kit.queue.stop()


def test_every_picture_of_a_result_gets_its_edit_button() -> None:
    now = datetime.now(UTC)
    images = [ImageRecord(n, 1, 1, "", Path(f"{n}.png"), {}, now, n - 7, 2) for n in (7, 8)]
    plain = result_buttons(images)
    assert Action.EDIT not in {button.action for button in plain}
    with_edit = result_buttons(images, edit=True)
    edits = [button for button in with_edit if button.action is Action.EDIT]
    assert edits == [Button(Action.EDIT, 7, "✏️ 1"), Button(Action.EDIT, 8, "✏️ 2")]
    assert Button.parse(edits[0].data) == (Action.EDIT, 7)
