"""The chat-level command model every adapter produces, and what the bot answers with.

Pure data: frozen dataclasses with pictures as bytes. Nothing here knows a platform.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from generation.request import RequestError


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message."""

    data: bytes = field(repr=False)
    filename: str = ""
    content_type: str = ""


_ASKS = "asks"  # the `Destination.extra` key of a question answered by a reply
FOR_ADULTS = "nsfw"
"""The `Destination.extra` key an adapter sets ("1") where the platform marks the place for
adults (a Discord channel marked age-restricted): flagged pictures may be shown plainly there
(`bot.jobs.policy`)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to answer; stored with each job so answers survive a restart."""

    platform: str
    chat_id: str
    user_id: str
    reply_to: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {
            "platform": self.platform,
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "reply_to": self.reply_to,
            "extra": dict(self.extra),
        }

    def asking(self) -> Destination:
        """The same place, for a question answered by replying to it: a platform that can
        (Telegram) opens the reply field at once."""
        return dataclasses.replace(self, extra={**self.extra, _ASKS: "reply"})

    @property
    def asks(self) -> bool:
        """Whether the message sent here is a question answered by replying to it."""
        return self.extra.get(_ASKS) == "reply"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Destination:
        """Rebuild from `to_dict` output."""
        return cls(
            platform=str(data["platform"]),
            chat_id=str(data["chat_id"]),
            user_id=str(data["user_id"]),
            reply_to=data.get("reply_to"),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Command:
    """One user action: who, where, which command, its text and pictures."""

    platform: str
    user_id: str
    user_name: str
    chat_id: str
    name: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_attachments: tuple[Attachment, ...] = ()
    reply_image_id: int | None = None
    reply_label: str | None = None
    """The picture number (`12.2`) a replied-to message shows, when the adapter knows no
    stored id for it (the caption of a result it no longer remembers)."""
    locale: str | None = None
    message_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    refusal: RequestError | None = None
    """Set by an adapter that could not take the command as sent (a picture too large to
    download, say): the bot answers it in the user's language and does nothing else."""
    source: str | None = None
    """What the command came from, unique on its platform (`telegram:update:<update id>`,
    `discord:interaction:<id>`); a job is stored once per source, however often the same
    delivery is handled, and the bot's replies to it are keyed by it, so a command handled
    twice (after a restart) is answered once."""
    received_at: float | None = None
    """When the platform's delivery reached the bot (`time.monotonic()`), where the adapter
    knows; else when the bot began handling the command (`bot.jobs.spans`)."""

    @property
    def destination(self) -> Destination:
        """Where answers to this command go."""
        return Destination(
            platform=self.platform,
            chat_id=self.chat_id,
            user_id=self.user_id,
            reply_to=self.message_id,
            extra=dict(self.extra),
        )

    @property
    def actor(self) -> str:
        """`platform:user id`, as admins are listed in settings."""
        return f"{self.platform}:{self.user_id}"

    def pictures(self) -> tuple[Attachment, ...]:
        """The command's own pictures, else those of the message it replies to."""
        return self.attachments or self.reply_attachments


class Action(enum.StrEnum):
    """What a result's buttons do; each refers to a stored image id.

    A press becomes the command of the same name with the image id as `reply_image_id` (and
    no text), so the id is never read as a label people type.
    """

    REROLL = "reroll"
    VARIATIONS = "variations"
    USE_AS_INIT = "init"
    RECIPE = "show"
    EDIT = "edit"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a result: pressing it runs `action` on `image_id`."""

    action: Action
    image_id: int
    label: str

    PATTERN: ClassVar[re.Pattern[str]] = re.compile(
        rf"kb:(?P<action>{'|'.join(Action)}):(?P<id>[0-9]{{1,20}})"
    )
    """What `data` looks like; platforms that route by pattern (Discord) use it as is."""

    @property
    def data(self) -> str:
        """Compact callback data, e.g. `kb:reroll:12` (fits Telegram's 64 bytes)."""
        return f"kb:{self.action}:{self.image_id}"

    @staticmethod
    def parse(data: str) -> tuple[Action, int] | None:
        """Read callback data made by `data`; None when it is not ours."""
        match = Button.PATTERN.fullmatch(data)
        if match is None:
            return None
        return Action(match["action"]), int(match["id"])


@dataclass(frozen=True, slots=True)
class OutImage:
    """A result picture to send: its stored id, and its `label` as people see it (`12.2`,
    `bot.chat.labels`)."""

    data: bytes = field(repr=False)
    image_id: int = 0
    filename: str = "kandinsky.png"
    label: str = ""
    spoiler: bool = False
    """Shown behind the platform's spoiler (the image check flagged it, `bot.jobs.policy`)."""


EDIT_MARK = "✏️"
"""The Edit button's label, and how a question for an edit's instruction begins."""
# The pencil with or without its emoji variation selector (some apps drop it).
_EDIT_QUESTION = re.compile(r"\u270f\ufe0f?\s?#(?P<label>[0-9]{1,20}(?:\.[0-9]{1,3})?)(?!\S)")


def edit_question(label: str) -> str:
    """How the question "what should change in picture #12.2?" begins: `✏️ #12.2` (the
    picture's number as people see it, `bot.chat.labels`).

    A reply to that question is the instruction (`asked_image` reads the picture's number
    back from the question's text), so nothing waits in memory for the answer.
    """
    return f"{EDIT_MARK} #{label}"


def asked_image(text: str) -> str | None:
    """The picture number a question made with `edit_question` asks about; None for any
    other text."""
    match = _EDIT_QUESTION.match(text.strip())
    return match["label"] if match else None
