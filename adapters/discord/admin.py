"""The /admin group: one subcommand per admin action, visible to server managers.

The bot checks who may run them (`KBOT_ADMINS`); Discord only hides the group from members
without the Manage Server permission. Like `commands`, each callback is defined when the
group is made (annotations are not postponed here), so the model choices are the
configured families.
"""

from typing import Literal

import discord
from discord import app_commands

from adapters.discord.inbound import Inbound
from adapters.discord.options import USER, Options, user_ref, words

MAX_ID = 2**53 - 1


def admin_group(o: Options, inbound: Inbound) -> app_commands.Group:
    """A fresh /admin group for one tree."""
    group = app_commands.Group(
        name="admin",
        description="Commands for the bot's admins (listed in KBOT_ADMINS).",
        default_permissions=discord.Permissions(manage_guild=True),
    )

    async def admin(interaction: discord.Interaction, *parts: object) -> None:
        await inbound.submit(interaction, "admin", words(*parts))

    @group.command(name="ban")
    @app_commands.describe(user=USER, reason="shown to the user")
    async def ban(interaction: discord.Interaction, user: str, reason: str | None = None) -> None:
        """Ban a user."""
        await admin(interaction, "ban", user_ref(user), reason)

    @group.command(name="unban")
    @app_commands.describe(user=USER)
    async def unban(interaction: discord.Interaction, user: str) -> None:
        """Lift a ban."""
        await admin(interaction, "unban", user_ref(user))

    @group.command(name="quota")
    @app_commands.describe(action="set the daily limit, grant extra credits, or reset today's use")
    @app_commands.describe(user=USER, amount="the limit or the credits")
    async def quota(
        interaction: discord.Interaction,
        action: Literal["set", "grant", "reset"],
        user: str,
        amount: app_commands.Range[int, -1_000_000, 1_000_000] | None = None,
    ) -> None:
        """Change a user's quota."""
        await admin(interaction, "quota", action, user_ref(user), amount)

    @group.command(name="stats")
    async def stats(interaction: discord.Interaction) -> None:
        """Users, jobs, images today, wait and run times."""
        await admin(interaction, "stats")

    @group.command(name="queue")
    async def queue(interaction: discord.Interaction) -> None:
        """Every waiting and running job."""
        await admin(interaction, "queue")

    @group.command(name="cancel")
    @app_commands.describe(job="the job id")
    async def cancel(
        interaction: discord.Interaction, job: app_commands.Range[int, 1, MAX_ID]
    ) -> None:
        """Cancel any job, waiting or running."""
        await admin(interaction, "cancel", job)

    @group.command(name="pause")
    @app_commands.describe(message="what users are told")
    async def pause(interaction: discord.Interaction, message: str | None = None) -> None:
        """Stop taking new jobs."""
        await admin(interaction, "pause", message)

    @group.command(name="resume")
    async def resume(interaction: discord.Interaction) -> None:
        """Take new jobs again."""
        await admin(interaction, "resume")

    @group.command(name="models")
    async def models(interaction: discord.Interaction) -> None:
        """Loaded pipelines and available models."""
        await admin(interaction, "models")

    async def preload(interaction: discord.Interaction, model: str) -> None:
        """Load a model before anyone asks for it."""
        await admin(interaction, "preload", model)

    async def unload(interaction: discord.Interaction, model: str | None = None) -> None:
        """Free a model's memory."""
        await admin(interaction, "unload", model)

    for callback, about in (
        (preload, "the Kandinsky version to load"),
        (unload, "the Kandinsky version to free (all when left out)"),
    ):
        described = app_commands.describe(model=about)(callback)
        if o.families:  # the configured families as fixed choices
            described = app_commands.choices(model=o.family_choices())(described)
        group.command(name=callback.__name__)(described)

    @group.command(name="audit")
    @app_commands.describe(count="how many entries (default 20)")
    async def audit(
        interaction: discord.Interaction, count: app_commands.Range[int, 1, 100] | None = None
    ) -> None:
        """The latest admin actions."""
        await admin(interaction, "audit", count)

    @group.command(name="filter")
    @app_commands.describe(
        action="add or remove words, list them, or switch the built-in list on or off",
        words="the word or phrase (add, remove), or on/off (defaults)",
    )
    async def filter_words(
        interaction: discord.Interaction,
        action: Literal["add", "remove", "list", "defaults"],
        words: str | None = None,
    ) -> None:
        """The prompt filter's words."""
        await admin(interaction, "filter", action, words)

    @group.command(name="policy")
    @app_commands.describe(policy="what this channel does with flagged pictures")
    async def policy(
        interaction: discord.Interaction,
        policy: Literal["allow", "spoiler", "block"] | None = None,
    ) -> None:
        """Show or set this channel's policy for flagged pictures."""
        await admin(interaction, "policy", policy)

    @group.command(name="flagged")
    @app_commands.describe(
        action="clear an entry (its picture goes to its owner) or ban its user",
        number="the entry (clear, ban), or how many entries to list",
        reason="shown to a banned user",
    )
    async def flagged(
        interaction: discord.Interaction,
        action: Literal["clear", "ban"] | None = None,
        number: app_commands.Range[int, 1, MAX_ID] | None = None,
        reason: str | None = None,
    ) -> None:
        """Flagged results, refused prompts and reports."""
        await admin(interaction, "flagged", action, number, reason)

    return group
