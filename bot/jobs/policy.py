"""What a place does with a result the image check flagged: its policy, as admins set it.

- `allow`: sent as any other picture; only where the platform marks the place for adults (a
  Discord channel marked age-restricted, `nsfw` in the destination); a stored `allow` where
  that no longer holds acts as `spoiler`;
- `spoiler` (the default): sent behind the platform's spoiler, with a note;
- `block`: not sent; its owner is told, it stays in their /history, the quota is not
  refunded (the work was done).

Each chat or channel has its own (a Telegram private chat and each group apart).
"""

from __future__ import annotations

from bot.chat.command import FOR_ADULTS, Destination

ALLOW = "allow"
SPOILER = "spoiler"
BLOCK = "block"
POLICIES = (ALLOW, SPOILER, BLOCK)
DEFAULT = SPOILER


def allow_permitted(destination: Destination) -> bool:
    """Whether `allow` may be set (and holds) where `destination` points."""
    return destination.platform == "discord" and destination.extra.get(FOR_ADULTS) == "1"


def effective(stored: str | None, destination: Destination) -> str:
    """The policy that applies to a result sent to `destination`, given the stored one."""
    if stored not in POLICIES:
        return DEFAULT
    if stored == ALLOW and not allow_permitted(destination):
        return DEFAULT
    return stored


def place_of(destination: Destination) -> str:
    """How the moderation stream names a place: `platform:chat id`."""
    return f"{destination.platform}:{destination.chat_id}"
