"""The checkpoints a process needs: `kandinsky-bot download-models`, and `--tiny` for a try offline.

`download-models` fetches the checkpoints of the chosen families (the family registry's hub
ids, or those of `KBOT_MODELS`) into the Hugging Face cache, saying first how much disk they
take; `generation.engine.hub` does the downloading. `--tiny` (of `generate` and `chat`) swaps
in the tiny random checkpoints the demo builds, so the bot runs with no download at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.app.settings import Settings, parse_families

if TYPE_CHECKING:
    from generation.engine.hub import Hub, Plan

Command = Callable[[argparse.Namespace, Settings], int]

# The default picture side on the tiny models: their pictures are noise, so small is enough,
# and a CPU makes one in seconds instead of a minute.
TINY_SIZE = 256
EXIT_FAILED = 1


def add_model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `download-models` to the sub-command parser."""
    download = commands.add_parser(
        "download-models",
        help="fetch the model checkpoints into the Hugging Face cache (HF_HOME)",
        description="Fetch the checkpoints of the chosen model families (KBOT_MODELS may name "
        "others) into the Hugging Face cache. Says how much disk they take first; run it again "
        "to continue an interrupted download; several at once share one download.",
    )
    download.add_argument(
        "--models",
        action="append",
        default=[],
        help="model families to fetch, e.g. 2.2,3 (default: all)",
    )
    download.add_argument(
        "--depth",
        action="store_true",
        help="also the depth estimator that /depth uses when no depth map is given",
    )


def add_tiny_option(parser: argparse.ArgumentParser) -> None:
    """Add `--tiny` to a command that generates."""
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="use tiny random offline models (built into .kbot/tiny-models on first use; "
        "the pictures are noise)",
    )


def model_commands() -> dict[str, Command]:
    """The command functions by name."""
    return {"download-models": cmd_download_models}


def with_tiny_models(settings: Settings) -> Settings:
    """`settings` on the tiny models of `.kbot/tiny-models`, built there first if missing."""
    from bot.app.demo import TINY_DIR, ensure_tiny_models

    if not (TINY_DIR / "registry.json").is_file():
        _note(f"Building the tiny offline models into {TINY_DIR} (once).")
    registry = ensure_tiny_models(TINY_DIR)
    _note(
        "Tiny random models: the pictures are noise. "
        "`kandinsky-bot download-models` fetches the real ones."
    )
    return dataclasses.replace(
        settings, models=registry, default_size=min(settings.default_size, TINY_SIZE)
    )


def _note(line: str) -> None:
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def cmd_download_models(args: argparse.Namespace, settings: Settings) -> int:
    """Say what the checkpoints take on disk, then download what is missing (the image
    check's classifier too, unless `KBOT_SAFETY` leaves images unchecked)."""
    from bot.app.root import build_registry
    from generation.engine.checkpoints import Needed
    from generation.engine.hub import DownloadError, Hub
    from generation.families import Checkpoint

    families = parse_families(args.models)
    needed = build_registry(settings).needed(families, depth=args.depth)
    if settings.safety in (None, "images", "both"):  # the image check's classifier
        needed.append(Needed("image safety classifier", Checkpoint(settings.safety_model)))
    hub = Hub()
    try:
        plan = hub.plan(needed)
        _report(hub, plan)
        _check_space(hub, plan)
        hub.fetch(plan, say=_say)
    except DownloadError as error:
        sys.stderr.write(f"kandinsky-bot: {error}\n")
        return EXIT_FAILED
    _say(f"Done: every checkpoint is in {hub.cache}.")
    return 0


def _say(line: str) -> None:
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def _report(hub: Hub, plan: Plan) -> None:
    """One line per checkpoint with its size, then the totals and where they go."""
    from generation.engine.hub import Sizes

    width = max((len(c.needed.title) for c in plan.checkpoints), default=0)
    repo_width = max((len(c.repo) for c in plan.checkpoints), default=0)
    total = Sizes()
    for checkpoint in plan.checkpoints:
        sizes = hub.sizes(checkpoint)
        total += sizes
        if sizes.to_fetch == 0:
            state = "downloaded"
        elif sizes.present or sizes.partial:
            state = f"{human_bytes(sizes.to_fetch)} to download"
        else:
            state = "to download"
        title = checkpoint.needed.title.ljust(width)
        repo = checkpoint.repo.ljust(repo_width)
        _say(f"  {title}  {repo}  {human_bytes(sizes.total):>8}, {state}")
    for needed in plan.local:
        _say(f"  {needed.title}: a local folder, {needed.checkpoint.id}")
    if not plan.checkpoints:
        return
    if total.to_fetch == 0:
        _say(f"They take {human_bytes(total.total)} on disk in {hub.cache}, all downloaded.")
        return
    earlier = f" ({human_bytes(total.partial)} came in an earlier run)" if total.partial else ""
    _say(
        f"They take {human_bytes(total.total)} on disk in {hub.cache}; "
        f"{human_bytes(total.to_fetch)} to download{earlier}."
    )


def _check_space(hub: Hub, plan: Plan) -> None:
    from generation.engine.hub import DownloadError, Sizes

    wanted = sum((hub.sizes(checkpoint) for checkpoint in plan.checkpoints), Sizes()).to_fetch
    free = hub.free_space()
    if wanted > free:
        raise DownloadError(
            f"the checkpoints need {human_bytes(wanted)} more in {hub.cache}, but only "
            f"{human_bytes(free)} are free (HF_HOME moves the cache to a larger disk)"
        )


def human_bytes(count: int) -> str:
    """`4.9 GB`, `120 MB`, `512 B`: decimal units, as disks are sold."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
