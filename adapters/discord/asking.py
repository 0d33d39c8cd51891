"""The question an Edit asks on Discord: a modal with one text field, the instruction.

A modal can only be an interaction's first response, so the Edit button and the "Edit this
image" message command answer with one at once. Its custom id says what it edits. A stored
image is named by the Edit button's own data (`kb:edit:12`): whichever process receives the
submitted modal, before or after a restart, edits that image. Someone else's picture (a
message that is not one of our results) is kept by this process under a key
(`kb:edit:picture:<interaction id>`) until its modal comes back; a restart meanwhile loses
it, and the bot then says how to give a picture. Submissions are read from the interaction's
own data (`submitted`), not from the modal object discord.py keeps in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import discord

from adapters.discord.target import TOKEN_LIFETIME
from bot.chat.command import Action, Button
from bot.i18n.catalogue import text

INSTRUCTION = "instruction"
"""The custom id of the modal's text field."""
PICTURE = "kb:edit:picture:"
"""How the custom id of a modal about someone else's picture begins."""
MAX_TITLE = 45  # Discord's limits: a modal's title and a label
MAX_PLACEHOLDER = 100
MAX_TEXT = 4000  # the longest text a modal's field takes


def edit_modal(custom_id: str, locale: str, max_length: int) -> discord.ui.Modal:
    """The modal asking what to change, in the interaction's language."""
    modal: discord.ui.Modal = discord.ui.Modal(
        title=text(locale, "edit_modal_title")[:MAX_TITLE],
        custom_id=custom_id,
        timeout=TOKEN_LIFETIME,  # discord.py forgets it then; its answer is read anyway
    )
    field: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id=INSTRUCTION,
        style=discord.TextStyle.paragraph,
        placeholder=text(locale, "edit_modal_example")[:MAX_PLACEHOLDER],
        max_length=min(max_length, MAX_TEXT),
    )
    modal.add_item(
        discord.ui.Label(text=text(locale, "edit_modal_label")[:MAX_TITLE], component=field)
    )
    return modal


def image_question(image_id: int) -> str:
    """The custom id of the modal that asks about stored image `image_id`."""
    return Button(Action.EDIT, image_id, "").data


def submitted(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """The custom id and the instruction of a submitted edit modal; None for anything else."""
    custom_id = str(data.get("custom_id") or "")
    parsed = Button.parse(custom_id)
    ours = (parsed is not None and parsed[0] is Action.EDIT) or custom_id.startswith(PICTURE)
    if not ours:
        return None
    return custom_id, _value(data.get("components") or ()) or ""


def _value(components: Iterable[Any]) -> str | None:
    """The text field's value, wherever the layout put it (rows or labels)."""
    for component in components:
        if not isinstance(component, Mapping):
            continue
        if component.get("custom_id") == INSTRUCTION:
            return str(component.get("value") or "")
        nested = list(component.get("components") or ())
        if isinstance(component.get("component"), Mapping):
            nested.append(component["component"])
        found = _value(nested)
        if found is not None:
            return found
    return None


class WaitingPictures:
    """Other people's pictures whose modal has not come back yet (this process only)."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._pictures: OrderedDict[str, discord.Attachment] = OrderedDict()

    def hold(self, interaction_id: int, picture: discord.Attachment) -> str:
        """Keep `picture`; return the custom id of the modal that asks about it."""
        custom_id = f"{PICTURE}{interaction_id}"
        self._pictures[custom_id] = picture
        while len(self._pictures) > self.keep:
            self._pictures.popitem(last=False)
        return custom_id

    def take(self, custom_id: str) -> discord.Attachment | None:
        """The picture a submitted modal asked about, if this process still has it."""
        return self._pictures.pop(custom_id, None)
