"""The slash commands, declared from the bot's command menu.

`build_commands(config, inbound)` makes fresh command objects for one tree: the slash
command of each non-admin command in `DiscordConfig.commands` (in menu order), the /admin
group when the menu has admin commands (see `admin`), the "Use as init image" message
command beside /init and "Edit this image" beside /edit. The option bounds and suggestions
come from the operator's settings
(`options`). A menu command without a declaration here is left out with a warning, and a
test holds the tree to the menu.

Each declaration is a function that defines its callback on the spot, so the option bounds
in its annotations are the configured ones (discord.py reads the annotations when the
command is made); that is why this module does not postpone annotations.
"""

import logging
from collections.abc import Callable

import discord
from discord import app_commands

from adapters.discord.admin import admin_group
from adapters.discord.client import AppCommand
from adapters.discord.config import DiscordConfig
from adapters.discord.inbound import Inbound
from adapters.discord.options import (
    IMAGE,
    PROMPT,
    Options,
    command_text,
    complete_scheduler,
    shape,
    words,
)
from generation.request import MAX_IMAGES, MAX_SEED

log = logging.getLogger(__name__)

Slash = app_commands.Command[app_commands.Group, ..., None]
MAX_ID = 2**53 - 1
MAX_LABEL = 40  # characters of an image number (`12`, `12.2`, `12.in`) a slash option takes
IMAGE_NUMBER = "the image number, as shown under each result (12, or 12.2)"


def _imagine(o: Options, inbound: Inbound) -> Slash:
    @o.described(prompt=PROMPT)
    @app_commands.autocomplete(
        model=o.complete_model, size=o.complete_size, scheduler=complete_scheduler
    )
    async def imagine(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, o.max_prompt],
        negative: str | None = None,
        model: str | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
        guidance: app_commands.Range[float, 0.0, o.max_guidance] | None = None,
        scheduler: str | None = None,
        count: app_commands.Range[int, 1, MAX_IMAGES] | None = None,
    ) -> None:
        """Draw a picture from a prompt."""
        text = command_text(
            prompt,
            neg=negative,
            model=model,
            **shape(size),
            seed=seed,
            steps=steps,
            cfg=guidance,
            scheduler=scheduler,
            n=count,
        )
        await inbound.submit(interaction, "imagine", text)

    return app_commands.command(name="imagine")(imagine)


def _img2img(o: Options, inbound: Inbound) -> Slash:
    @o.described(prompt=PROMPT, image=f"{IMAGE} (or the one chosen with Use as init image)")
    @app_commands.autocomplete(model=o.complete_model, size=o.complete_size)
    async def img2img(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, o.max_prompt],
        image: discord.Attachment | None = None,
        strength: app_commands.Range[float, 0.0, 1.0] | None = None,
        negative: str | None = None,
        model: str | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
    ) -> None:
        """Redraw a picture from a prompt."""
        text = command_text(
            prompt,
            strength=strength,
            neg=negative,
            model=model,
            **shape(size),
            seed=seed,
            steps=steps,
        )
        await inbound.submit(interaction, "img2img", text, [image])

    return app_commands.command(name="img2img")(img2img)


def _inpaint(o: Options, inbound: Inbound) -> Slash:
    @o.described(
        prompt=PROMPT,
        image=f"{IMAGE}; a transparent PNG needs no mask (or --from 12 in the prompt)",
        mask="white = repaint, black = keep",
    )
    @app_commands.autocomplete(model=o.complete_model, size=o.complete_size)
    async def inpaint(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, o.max_prompt],
        image: discord.Attachment | None = None,
        mask: discord.Attachment | None = None,
        negative: str | None = None,
        model: str | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
    ) -> None:
        """Repaint the white part of a mask, or the transparent part of a PNG."""
        text = command_text(
            prompt, neg=negative, model=model, **shape(size), seed=seed, steps=steps
        )
        await inbound.submit(interaction, "inpaint", text, [image, mask])

    return app_commands.command(name="inpaint")(inpaint)


def _mix(o: Options, inbound: Inbound) -> Slash:
    @o.described(
        items="texts and pictures with weights: a cat::0.3 | #1::0.7 (#1 is the first picture)",
        image1="picture #1",
        image2="picture #2",
        image3="picture #3",
        image4="picture #4",
    )
    @app_commands.autocomplete(model=o.complete_model, size=o.complete_size)
    async def mix(
        interaction: discord.Interaction,
        items: app_commands.Range[str, 1, o.max_prompt],
        image1: discord.Attachment | None = None,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        model: str | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
        count: app_commands.Range[int, 1, MAX_IMAGES] | None = None,
    ) -> None:
        """Blend texts and pictures with weights."""
        text = command_text(items, model=model, **shape(size), seed=seed, steps=steps, n=count)
        await inbound.submit(interaction, "mix", text, [image1, image2, image3, image4])

    return app_commands.command(name="mix")(mix)


def _depth(o: Options, inbound: Inbound) -> Slash:
    @o.described(
        prompt=PROMPT,
        image=f"{IMAGE} whose depth to keep (or the one chosen with Use as init image)",
        use_as_init="also start from the picture itself",
    )
    @app_commands.autocomplete(size=o.complete_size)
    async def depth(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, o.max_prompt],
        image: discord.Attachment | None = None,
        use_as_init: bool | None = None,
        strength: app_commands.Range[float, 0.0, 1.0] | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
    ) -> None:
        """Draw following the depth of a picture (Kandinsky 2.2 ControlNet)."""
        text = command_text(
            prompt, init=use_as_init, strength=strength, **shape(size), seed=seed, steps=steps
        )
        await inbound.submit(interaction, "depth", text, [image])

    return app_commands.command(name="depth")(depth)


def _edit(o: Options, inbound: Inbound) -> Slash:
    @o.described(
        instruction="what to change, e.g. make it night (options such as --seed 4 may follow)",
        image=f"{IMAGE} to change (or the one chosen with Use as init image)",
        id=f"or one of your images: {IMAGE_NUMBER}",
    )
    async def edit(
        interaction: discord.Interaction,
        instruction: app_commands.Range[str, 1, o.max_prompt],
        image: discord.Attachment | None = None,
        id: app_commands.Range[str, 1, MAX_LABEL] | None = None,
        negative: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
        guidance: app_commands.Range[float, 0.0, o.max_guidance] | None = None,
        count: app_commands.Range[int, 1, MAX_IMAGES] | None = None,
    ) -> None:
        """Change a picture as you say (Kandinsky 5)."""
        text = command_text(
            instruction, neg=negative, seed=seed, steps=steps, cfg=guidance, n=count
        )
        if id is not None:  # the picture's number goes first, as in `/edit #12 make it night`
            text = f"#{id.strip().removeprefix('#')} {text}"
        await inbound.submit(interaction, "edit", text, [image])

    return app_commands.command(name="edit")(edit)


def _animate(o: Options, inbound: Inbound) -> Slash:
    @o.described(
        prompt=PROMPT,
        image=f"{IMAGE} to set in motion (or --from 12 in the prompt)",
        seconds="how long the video runs",
        fps="frames per second",
        fast="the distilled checkpoint: fewer steps, quicker",
    )
    @app_commands.choices(
        seconds=[app_commands.Choice(name=f"{n} s", value=n) for n in (5, 10)],
    )
    @app_commands.autocomplete(model=o.complete_model, size=o.complete_size)
    async def animate(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, o.max_prompt],
        image: discord.Attachment | None = None,
        seconds: int | None = None,
        size: str | None = None,
        fps: app_commands.Range[int, 1, 30] | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
        guidance: app_commands.Range[float, 0.0, o.max_guidance] | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        negative: str | None = None,
        fast: bool | None = None,
        model: str | None = None,
    ) -> None:
        """Make a short video from a prompt, or set a picture in motion."""
        text = command_text(
            prompt,
            seconds=seconds,
            **shape(size),
            fps=fps,
            steps=steps,
            cfg=guidance,
            seed=seed,
            neg=negative,
            fast=fast,
            model=model,
        )
        await inbound.submit(interaction, "animate", text, [image])

    return app_commands.command(name="animate")(animate)


def _by_id(name: str, doc: str) -> Callable[[Options, Inbound], Slash]:
    """A command that acts on one image, given by its id."""

    def declare(o: Options, inbound: Inbound) -> Slash:
        @app_commands.describe(id=IMAGE_NUMBER)
        async def callback(
            interaction: discord.Interaction, id: app_commands.Range[str, 1, MAX_LABEL]
        ) -> None:
            await inbound.submit(interaction, name, id.strip())

        return app_commands.command(name=name, description=doc)(callback)

    return declare


def _init(o: Options, inbound: Inbound) -> Slash:
    @app_commands.describe(id=IMAGE_NUMBER, image=f"{IMAGE} to start from")
    async def init(
        interaction: discord.Interaction,
        id: app_commands.Range[str, 1, MAX_LABEL] | None = None,
        image: discord.Attachment | None = None,
    ) -> None:
        """Use an image, or a picture, as the starting picture of your next command."""
        await inbound.submit(interaction, "init", words(id and id.strip()), [image])

    return app_commands.command(name="init")(init)


def _history(o: Options, inbound: Inbound) -> Slash:
    @app_commands.describe(page="which page, newest first")
    async def history(
        interaction: discord.Interaction, page: app_commands.Range[int, 1, 10_000] | None = None
    ) -> None:
        """List your pictures with their ids."""
        await inbound.submit(interaction, "history", words(page))

    return app_commands.command(name="history")(history)


def _settings(o: Options, inbound: Inbound) -> Slash:
    @o.described(reset="forget your defaults")
    @app_commands.autocomplete(model=o.complete_model, size=o.complete_size)
    async def settings(
        interaction: discord.Interaction,
        model: str | None = None,
        size: str | None = None,
        steps: app_commands.Range[int, 1, o.max_steps] | None = None,
        negative: str | None = None,
        reset: bool | None = None,
    ) -> None:
        """Show or change your defaults."""
        options = command_text("", model=model, **shape(size), steps=steps, neg=negative)
        await inbound.submit(interaction, "settings", "reset" if reset else options)

    return app_commands.command(name="settings")(settings)


def _plain(name: str, doc: str) -> Callable[[Options, Inbound], Slash]:
    """A command without options."""

    def declare(o: Options, inbound: Inbound) -> Slash:
        async def callback(interaction: discord.Interaction) -> None:
            await inbound.submit(interaction, name)

        return app_commands.command(name=name, description=doc)(callback)

    return declare


def _cancel(o: Options, inbound: Inbound) -> Slash:
    @app_commands.describe(job="the job id (your newest waiting job when left out)")
    async def cancel(
        interaction: discord.Interaction, job: app_commands.Range[int, 1, MAX_ID] | None = None
    ) -> None:
        """Cancel one of your waiting jobs."""
        await inbound.submit(interaction, "cancel", words(job))

    return app_commands.command(name="cancel")(cancel)


def _language(o: Options, inbound: Inbound) -> Slash:
    @app_commands.describe(code="the language I speak with you")
    @app_commands.choices(
        code=[
            app_commands.Choice(name="English", value="en"),
            app_commands.Choice(name="Русский", value="ru"),
            app_commands.Choice(name="العربية", value="ar"),
        ]
    )
    async def language(interaction: discord.Interaction, code: str) -> None:
        """Choose the language I speak with you."""
        await inbound.submit(interaction, "language", code)

    return app_commands.command(name="language")(language)


def _help(topics: list[str]) -> Callable[[Options, Inbound], Slash]:
    def declare(o: Options, inbound: Inbound) -> Slash:
        @app_commands.describe(command="a command to explain with an example")
        @app_commands.choices(command=[app_commands.Choice(name=n, value=n) for n in topics])
        async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
            """Explain what I can do, or one command with an example."""
            await inbound.submit(interaction, "help", words(command))

        return app_commands.command(name="help")(help_)

    return declare


def _link(o: Options, inbound: Inbound) -> Slash:
    @app_commands.describe(code="the code another platform gave you (leave out to get one)")
    async def link(interaction: discord.Interaction, code: str | None = None) -> None:
        """Link this account with your account on another platform."""
        await inbound.submit(interaction, "link", words(code))

    return app_commands.command(name="link")(link)


def _use_as_init(inbound: Inbound) -> app_commands.ContextMenu:
    async def use_as_init(interaction: discord.Interaction, message: discord.Message) -> None:
        """Use this message's picture as the starting picture of your next command."""
        await inbound.choose_init_picture(interaction, message)

    return app_commands.ContextMenu(name="Use as init image", callback=use_as_init)


def _edit_this_image(inbound: Inbound) -> app_commands.ContextMenu:
    async def edit_this_image(interaction: discord.Interaction, message: discord.Message) -> None:
        """Ask what to change in this message's picture, then change it."""
        await inbound.edit_picture(interaction, message)

    return app_commands.ContextMenu(name="Edit this image", callback=edit_this_image)


def declarations(topics: list[str]) -> dict[str, Callable[[Options, Inbound], Slash]]:
    """Each command's Discord declaration by name (`topics`: the /help choices)."""
    return {
        "imagine": _imagine,
        "img2img": _img2img,
        "inpaint": _inpaint,
        "mix": _mix,
        "depth": _depth,
        "edit": _edit,
        "animate": _animate,
        "reroll": _by_id("reroll", "Draw an image's recipe again with a new seed."),
        "variations": _by_id("variations", "Make variations of one of your images."),
        "init": _init,
        "history": _history,
        "show": _by_id("show", "Show an image's recipe."),
        "settings": _settings,
        "quota": _plain("quota", "Show how many pictures you have left today."),
        "queue": _plain("queue", "Show where your jobs are in the queue."),
        "cancel": _cancel,
        "language": _language,
        "help": _help(topics),
        "link": _link,
    }


def build_commands(config: DiscordConfig, inbound: Inbound) -> list[AppCommand]:
    """Fresh command objects for one tree, in the menu's order."""
    options = Options.of(config)
    menu = config.commands
    topics = [info.name for info in menu if info.name != "help"][:25]
    declared = declarations(topics)
    built: list[AppCommand] = []
    for info in menu:
        if info.admin_only:
            continue
        declare = declared.get(info.name)
        if declare is None:
            log.warning("/%s has no Discord declaration; it is left out", info.name)
            continue
        built.append(declare(options, inbound))
    if any(info.admin_only for info in menu):
        built.append(admin_group(options, inbound))
    if any(info.name == "init" for info in menu):
        built.append(_use_as_init(inbound))
    if any(info.name == "edit" for info in menu):
        built.append(_edit_this_image(inbound))
    return built
