"""Where an answer goes: the interaction it answers, read back from plain strings.

Everything a restarted process needs to answer an interaction is kept in the command's
`Destination.extra` and in the progress message's `ProgressRef`, as strings; `Target`
reads it back. Once the 15-minute interaction token has expired, answers go to the channel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import discord

from bot.chat.command import FOR_ADULTS, Destination
from bot.chat.replier import ProgressRef

TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 30.0
"""Seconds kept in hand, so that no upload starts on a token about to expire."""
DEFAULT_UPLOAD_LIMIT = 10 * 2**20


def interaction_extra(interaction: discord.Interaction, *, private: bool) -> dict[str, str]:
    """What a restarted process needs to answer this interaction."""
    extra = {
        "application_id": str(interaction.application_id),
        "token": interaction.token,
        "token_time": f"{interaction.created_at.timestamp():.3f}",
        "channel_id": str(interaction.channel_id or ""),
        "upload_limit": str(getattr(interaction, "filesize_limit", DEFAULT_UPLOAD_LIMIT)),
    }
    if private:
        extra["private"] = "1"
    if getattr(interaction.channel, "nsfw", False) is True:
        extra[FOR_ADULTS] = "1"  # an age-restricted channel
    return extra


@dataclass(frozen=True, slots=True)
class Target:
    """Where an answer goes, read back from a destination or a progress ref (all strings)."""

    application_id: int
    token: str
    token_time: float
    channel_id: int
    user_id: int
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    private: bool = False

    @classmethod
    def of(cls, destination: Destination) -> Target:
        """Read the interaction a destination belongs to."""
        extra = destination.extra
        return cls(
            application_id=int(extra.get("application_id") or 0),
            token=extra.get("token", ""),
            token_time=float(extra.get("token_time") or 0),
            channel_id=int(extra.get("channel_id") or destination.chat_id or 0),
            user_id=int(destination.user_id),
            upload_limit=int(extra.get("upload_limit") or DEFAULT_UPLOAD_LIMIT),
            private=extra.get("private") == "1",
        )

    @classmethod
    def of_ref(cls, ref: ProgressRef) -> Target:
        """Read the interaction a progress message belongs to."""
        return cls(
            application_id=int(ref.get("application_id") or 0),
            token=str(ref.get("token") or ""),
            token_time=float(ref.get("token_time") or 0),
            channel_id=int(ref.get("channel_id") or 0),
            user_id=int(ref.get("user_id") or 0),
        )

    def expired(self) -> bool:
        """Whether the interaction token is (nearly) 15 minutes old or missing."""
        return not self.token or time.time() - self.token_time > TOKEN_LIFETIME - TOKEN_MARGIN

    def ref(self, message_id: int, via: str) -> ProgressRef:
        """A JSON-safe handle on a message, enough to edit it from a restarted process."""
        return {
            "application_id": str(self.application_id),
            "token": self.token,
            "token_time": f"{self.token_time:.3f}",
            "channel_id": str(self.channel_id),
            "user_id": str(self.user_id),
            "message_id": str(message_id),
            "via": via,
        }
