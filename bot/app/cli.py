"""The command line: generate, show and replay recipes, build tiny models, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app.models import add_model_commands, add_tiny_option, model_commands, with_tiny_models
from bot.app.roles import add_worker_commands, worker_commands
from bot.app.settings import Settings, SettingsError
from bot.chat.grammar import parse_command_text
from bot.chat.mix import parse_mix_item
from bot.chat.present import step_bar
from bot.chat.tokens import as_option
from generation.families import DEFAULT_FAMILIES, SizeRule
from generation.placement import Placement
from generation.request import (
    SCHEDULERS,
    GenerationRequest,
    MixItem,
    RequestError,
    Task,
    refuse_unused,
)
from generation.sizes import parse_size
from generation.version import bot_version

if TYPE_CHECKING:
    from generation.engine.service import GenerationResult, GenerationService

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a process that SIGINT ended


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every sub-command."""
    parser = argparse.ArgumentParser(prog="kandinsky-bot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {bot_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="make images from a prompt")
    generate.add_argument("prompt", nargs="?", default="", help="what to draw")
    _add_request_options(generate)
    add_tiny_option(generate)

    recipe = commands.add_parser("recipe", help="print the recipe stored in a PNG we made")
    recipe.add_argument("file", type=Path)
    recipe.add_argument("--regenerate", action="store_true", help="make the image again")
    recipe.add_argument("--image", type=Path, help="the original picture, for image tasks")
    recipe.add_argument("--mask", type=Path, help="the original mask, for inpainting")
    recipe.add_argument(
        "-o",
        "--output",
        type=Path,
        help="with --regenerate: a folder or FILE.png (default: the folder FILE is in)",
    )

    tiny = commands.add_parser("make-tiny-models", help="build tiny random checkpoints offline")
    tiny.add_argument("directory", type=Path)

    demo = commands.add_parser("demo", help="a scripted chat session on tiny offline models")
    demo.add_argument("-o", "--output", type=Path, default=Path("demo-output"))

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("outputs"),
        help="folder the pictures are saved in (default: outputs)",
    )
    chat.add_argument("--user", help="the console user's id (default: your login name)")
    chat.add_argument("--lang", help="your language: en, ru or ar")
    chat.add_argument("--echo", action="store_true", help="print each command before its answer")
    chat.add_argument("--wait", action="store_true", help="finish each job before the next line")
    add_tiny_option(chat)

    run = commands.add_parser("run", help="run every chat adapter that has its token configured")
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="KBOT_QUEUE=procrastinate: frontends only, jobs run on `kandinsky-bot worker`",
    )
    add_worker_commands(commands)
    add_model_commands(commands)
    commands.add_parser("discord-sync", help="register the Discord slash commands now")
    return parser


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=DEFAULT_FAMILIES.names())
    parser.add_argument("--task", choices=[t.value for t in Task])
    parser.add_argument(
        "--image", type=Path, help="picture to start from (img2img, inpaint, depth, edit)"
    )
    parser.add_argument("--mask", type=Path, help="inpainting mask, white = repaint")
    parser.add_argument("--depth-map", type=Path, help="a ready depth map for depth")
    parser.add_argument("--depth-img2img", action="store_true", help="depth: start from --image")
    parser.add_argument(
        "--mix",
        action="append",
        default=[],
        metavar="ITEM::WEIGHT",
        help="a text or picture path with a weight, e.g. 'a cat::0.3' (repeat)",
    )
    parser.add_argument("--negative", default="", help="what to avoid")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size", help="WIDTHxHEIGHT: multiples of 64, or a size model 5 makes")
    size.add_argument("--ar", help="an aspect ratio such as 16:9 instead of a size")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--prior-guidance", type=float)
    parser.add_argument("--prior-steps", type=int)
    parser.add_argument("--strength", type=float, help="image to image: 0 to 1 (default 0.6)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="default")
    parser.add_argument("-n", "--num-images", type=int, default=1)
    parser.add_argument("--seconds", type=int, help="animate: the video's length (5 or 10)")
    parser.add_argument("--fps", type=int, help="animate: frames per second (default 24)")
    parser.add_argument("--fast", action="store_true", help="animate: the distilled checkpoint")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("outputs"),
        help="a folder, or FILE.png for one image, FILE.mp4 for a video (default: outputs)",
    )


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise RequestError.of(
            what, str(path), "cannot_read", what=what, path=path, reason=error.strerror
        ) from None


def _mix_items(specs: Sequence[str]) -> tuple[MixItem, ...]:
    """`--mix` items in the chat's mix syntax; a text naming a picture file is that picture."""
    items = []
    for number, spec in enumerate(specs, start=1):
        parsed = parse_mix_item(spec, number)
        text = parsed.text if parsed.picture is None else f"#{parsed.picture + 1}"
        path = Path(text or "")
        if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") and path.is_file():
            items.append(MixItem(weight=parsed.weight, image=path.read_bytes()))
        else:
            items.append(MixItem(weight=parsed.weight, text=text))
    return tuple(items)


def request_from_args(args: argparse.Namespace, settings: Settings) -> GenerationRequest:
    """Build the request the `generate` options describe (RequestError when they cannot)."""
    init = _read(args.image, "image")
    mask = _read(args.mask, "mask")
    task = Task(args.task) if args.task else _guess_task(args, init, mask)
    if task is Task.INPAINT and mask is None and init is not None:
        mask = _alpha_mask(init)
    from bot.app.root import build_families

    families = build_families(settings)
    # No --model: the default one, or the first family that runs the task (edit: 5).
    model = args.model or families.for_task(task, settings.default_model)
    width, height = _size(args.size, args.ar, init, settings, families.get(model).size_rule)
    strength = {} if args.strength is None else {"strength": args.strength}
    request = GenerationRequest(
        task=task,
        model=model,
        prompt=args.prompt,
        negative_prompt=args.negative,
        init_image=init,
        mask=mask,
        depth_hint=_read(args.depth_map, "depth map"),
        depth_img2img=args.depth_img2img,
        mix=_mix_items(args.mix),
        width=width,
        height=height,
        steps=args.steps if args.steps is not None else settings.default_steps,
        guidance_scale=args.guidance,
        prior_guidance_scale=args.prior_guidance,
        prior_steps=args.prior_steps,
        seed=args.seed,
        scheduler=args.scheduler,
        num_images=args.num_images,
        seconds=args.seconds,
        fps=args.fps,
        fast=args.fast,
        **strength,
    )
    refuse_unused(request, strength)
    return request


def _guess_task(args: argparse.Namespace, init: bytes | None, mask: bytes | None) -> Task:
    if args.mix:
        return Task.MIX
    if args.depth_map or args.depth_img2img:
        return Task.DEPTH
    if mask is not None:
        return Task.INPAINT
    return Task.IMG2IMG if init is not None else Task.TEXT2IMG


def _alpha_mask(init: bytes) -> bytes | None:
    """A transparent PNG is its own mask: transparent pixels are repainted."""
    from generation.images import has_transparency

    return init if has_transparency(init) else None


def _size(
    text: str | None, aspect: str | None, init: bytes | None, settings: Settings, rule: SizeRule
) -> tuple[int, int]:
    if text:
        return parse_size(text)
    side = settings.default_size
    if aspect is not None:  # read by the chat's option grammar: the same checks and sentences
        parsed = parse_command_text(f"--ar={aspect}")
        asked = parsed.dimensions(side * side, settings.limits, rule=rule)
        assert asked is not None
        return asked
    if init is None:
        return rule.default_size(side, side)
    from generation.images import decode_image
    from generation.sizes import size_for_aspect

    picture = decode_image(
        init, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_upload_pixels
    )
    return size_for_aspect(*picture.size, side * side, settings.limits, rule=rule)


class ProgressBar:
    """A one-line step bar on stderr."""

    def __init__(self, width: int = 20) -> None:
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        bar = step_bar(done, total, self.width)
        print(f"\r{bar} {done}/{total}", end=end, file=sys.stderr, flush=True)


def save_results(results: Sequence[GenerationResult], output: Path) -> list[Path]:
    """Write every PNG (or MP4) of `results` under `output` (a folder, or a file name for one).

    In a folder they get the names the console gives its pictures (`generation.outputs`).
    """
    from generation.outputs import save_pictures

    pngs = [png for result in results for png in result.images]
    if output.suffix.lower() in (".png", ".mp4") and len(pngs) == 1:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(pngs[0])
        return [output]
    return save_pictures(output, pngs)


async def _generate(
    service: GenerationService, request: GenerationRequest, placement: Placement | None
) -> GenerationResult:
    try:
        if placement is None:
            return await service.generate(service.prepare(request), ProgressBar())
        return await service.regenerate(request, placement, ProgressBar())
    finally:
        service.close()


def _make_and_save(
    settings: Settings,
    request: GenerationRequest,
    output: Path,
    placement: Placement | None = None,
) -> int:
    """Generate on a fresh service with a step bar; print where the PNGs went.

    With `placement`, `request` is a recipe's, made again as it was (`regenerate`).
    """
    from bot.app.root import build_generation

    result = asyncio.run(_generate(build_generation(settings), request, placement))
    for path in save_results([result], output):
        print(path)
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    """Make images from the command line options."""
    if args.tiny:
        settings = with_tiny_models(settings)
    return _make_and_save(settings, request_from_args(args, settings), args.output)


def cmd_recipe(args: argparse.Namespace, settings: Settings) -> int:
    """Print a PNG's recipe; with --regenerate, make it again (beside FILE unless -o says)."""
    from generation.images import read_recipe

    data = _read(args.file, "file")
    assert data is not None
    recipe = read_recipe(data)
    print(json.dumps(recipe, indent=2, ensure_ascii=False))
    if not args.regenerate:
        return 0
    request = GenerationRequest.from_recipe(recipe).replace(
        init_image=_read(args.image, "image"), mask=_read(args.mask, "mask")
    )
    if request.task is Task.DEPTH and request.init_image is None:
        raise RequestError.of("image", None, "recipe_needs_image")
    output = args.output if args.output is not None else args.file.parent
    return _make_and_save(settings, request, output, Placement.of(recipe))


def cmd_make_tiny_models(args: argparse.Namespace, settings: Settings) -> int:
    """Build the tiny offline checkpoints and print the registry file."""
    from bot.app.root import quiet_libraries

    quiet_libraries()
    from generation.engine.tiny import build_tiny_models

    print(build_tiny_models(args.directory))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Generate one image per task on the tiny models, through the service users get."""
    from bot.app.demo import run_demo

    run_demo(settings, args.output)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """A conversation with the bot on standard input and output.

    Ends with 0 after /quit or Ctrl-D, 130 after Ctrl-C (its jobs cancelled), no traceback.
    """
    from bot.app.console import Stopped, run_console

    try:
        if args.tiny:
            settings = with_tiny_models(settings)
        stopped = asyncio.run(
            run_console(
                settings,
                args.output,
                user=args.user,
                lang=args.lang,
                echo=args.echo,
                wait_each=args.wait,
            )
        )
    except KeyboardInterrupt:  # before the console took Ctrl-C over, or after it let go
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_INTERRUPTED if stopped is Stopped.INTERRUPTED else 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the adapters whose tokens are set."""
    from bot.app.runner import AdapterFailed, NoAdapterError, run_adapters

    try:
        asyncio.run(run_adapters(settings, worker=not getattr(args, "no_worker", False)))
    except AdapterFailed as failure:
        print(f"kandinsky-bot: stopped, a chat adapter failed: {failure}", file=sys.stderr)
        return 1
    except NoAdapterError:
        print(
            "kandinsky-bot: no chat platform is configured. Set KBOT_TELEGRAM_TOKEN or "
            "KBOT_DISCORD_TOKEN, or talk to the bot here with `kandinsky-bot chat`.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return 0


def cmd_discord_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Register the slash commands with Discord now (guilds in KBOT_DISCORD_GUILDS, or global)."""
    from adapters.discord.adapter import sync_commands
    from bot.app.root import command_menu
    from bot.app.runner import discord_config

    for line in asyncio.run(sync_commands(discord_config(settings, command_menu()))):
        print(line)
    return 0


COMMANDS = {
    "chat": cmd_chat,
    "run": cmd_run,
    "discord-sync": cmd_discord_sync,
    "generate": cmd_generate,
    "recipe": cmd_recipe,
    "make-tiny-models": cmd_make_tiny_models,
    "demo": cmd_demo,
}
COMMANDS.update(worker_commands())
COMMANDS.update(model_commands())


def spell_out_options(argv: Sequence[str]) -> list[str]:
    """`argv` with each option's `--` written out where a phone made it a dash (`—model`).

    Words after a bare `--`, and words with a space before any `=` (a quoted prompt), are
    left as they are; the chat grammar reads options through the same `as_option`.
    """
    words: list[str] = []
    for word in argv:
        verbatim = "--" in words or any(char.isspace() for char in word.partition("=")[0])
        words.append(word if verbatim else as_option(word))
    return words


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for bad input, 130 for Ctrl-C)."""
    args = build_parser().parse_args(spell_out_options(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one INFO line per plugin and step
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
    except (RequestError, SettingsError) as error:
        print(f"kandinsky-bot: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def offline_environment() -> None:
    """Keep the hub libraries from reaching the network (tiny local models only)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
