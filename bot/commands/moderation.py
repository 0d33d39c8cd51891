"""The content filter's commands: the prompt check every submission passes, the Report
button, and the admin subcommands `filter`, `policy` and `flagged` (wired in by
`bot.commands.admin`).

A refused prompt is answered with a sentence that names no word, costs nothing (it is
refused before the quota is touched) and goes to the moderation stream without its text; no
word of the lists is logged. Clearing a flagged result sends it to its owner through the
outbox.
"""

from __future__ import annotations

import logging

from bot.chat.command import Destination
from bot.chat.labels import image_label, parse_label, stored_id
from bot.commands.context import Context
from bot.commands.pictures import shown
from bot.commands.promptfilter import built_in, matches, normalise
from bot.commands.router import Route, Router
from bot.delivery.outbox import images_draft, key_of
from bot.i18n.catalogue import text
from bot.jobs.notify import result_buttons
from bot.jobs.policy import ALLOW, DEFAULT, POLICIES, allow_permitted, place_of
from generation.request import GenerationRequest, RequestError
from storage.records import FlagKind, FlagRecord, FlagStatus, ImageRecord

log = logging.getLogger(__name__)

PROMPT_MODES = ("prompts", "both")
"""The `KBOT_SAFETY` modes that check prompts."""
MAX_WORD = 200  # the column's length
FLAGGED_SHOWN = 10
MAX_SHOWN = 100


def _texts(request: GenerationRequest) -> list[str]:
    return [request.prompt, *(item.text for item in request.mix if item.text)]


async def check_prompt(ctx: Context, request: GenerationRequest) -> None:
    """Refuse a request whose prompt (or a mix text) holds a listed word: RequestError with
    a sentence naming no word, and an entry in the moderation stream."""
    if ctx.config.safety not in PROMPT_MODES:
        return
    rules = await ctx.store.filter_rules()
    words = (*rules.words, *built_in()) if rules.defaults else rules.words
    if not any(matches(text, words) for text in _texts(request)):
        return
    command = ctx.command
    await ctx.store.add_flag(FlagKind.PROMPT, ctx.user.id, place_of(command.destination))
    log.info("the prompt filter refused a command of %s", command.actor)
    raise RequestError("prompt", None, ctx.t("prompt_refused"))


def _usage(ctx: Context) -> RequestError:
    return RequestError("admin", None, ctx.t("admin_usage"))


async def filter_words(ctx: Context, args: list[str]) -> str:
    """`filter add|remove WORDS`, `filter list`, `filter defaults on|off`."""
    how = args[0].lower() if args else ""
    phrase = " ".join(args[1:])
    if how == "list":
        words = await ctx.store.filter_words()
        rules = await ctx.store.filter_rules()
        defaults = ctx.t("admin_on" if rules.defaults else "admin_off")
        return ctx.t("admin_filter_list", words=", ".join(words) or "-", defaults=defaults)
    if how == "defaults" and phrase.lower() in ("on", "off"):
        on = phrase.lower() == "on"
        await ctx.store.set_filter_defaults(on)
        return ctx.t("admin_filter_defaults", state=ctx.t("admin_on" if on else "admin_off"))
    word = normalise(phrase)
    if how not in ("add", "remove") or not word or len(word) > MAX_WORD:
        raise _usage(ctx)
    if how == "add":
        added = await ctx.store.add_filter_word(word, phrase[:MAX_WORD], ctx.command.actor)
        return ctx.t("admin_filter_added" if added else "admin_filter_exists")
    removed = await ctx.store.remove_filter_word(word)
    return ctx.t("admin_filter_removed" if removed else "admin_filter_missing")


async def policy(ctx: Context, args: list[str]) -> str:
    """`policy [allow|spoiler|block]`: what this chat or channel does with flagged pictures."""
    destination = ctx.command.destination
    if args:
        chosen = args[0].lower()
        if chosen not in POLICIES:
            raise _usage(ctx)
        if chosen == ALLOW and not allow_permitted(destination):
            raise RequestError("policy", chosen, ctx.t("admin_policy_allow_refused"))
        await ctx.store.set_place_policy(destination.platform, destination.chat_id, chosen)
    current = await ctx.store.place_policy(destination.platform, destination.chat_id)
    return ctx.t("admin_policy", policy=current or DEFAULT)


def _flag_id(word: str, ctx: Context) -> int:
    flag_id = stored_id(word.strip("[]"))
    if flag_id is None:
        raise _usage(ctx)
    return flag_id


async def _line(ctx: Context, entry: FlagRecord) -> str:
    what = ""
    image = await ctx.store.get_image(entry.image_id) if entry.image_id is not None else None
    if image is not None:
        what = f" · #{image_label(image)}"
    if entry.score is not None:
        what += f" · {entry.score:.2f}"
    return ctx.t(
        "admin_flagged_line",
        flag=f"[{entry.id}]",
        at=entry.at.strftime("%Y-%m-%d %H:%M"),
        kind=entry.kind,
        user=entry.user_id,
        place=entry.place,
        what=what,
        status=entry.status,
    )


async def flagged(ctx: Context, args: list[str]) -> str:
    """`flagged [N]`: the latest entries; `flagged clear ENTRY`: a false positive, its picture
    goes to its owner; `flagged ban ENTRY [reason]`: ban the entry's user."""
    how = args[0].lower() if args else ""
    if how in ("clear", "ban"):
        if len(args) < 2:
            raise _usage(ctx)
        flag_id = _flag_id(args[1], ctx)
        status = FlagStatus.CLEARED if how == "clear" else FlagStatus.BANNED
        entry = await ctx.store.resolve_flag(flag_id, status, ctx.command.actor)
        if entry is None:
            raise RequestError("flag", flag_id, ctx.t("admin_flag_missing", flag=f"[{flag_id}]"))
        if how == "ban":
            await ctx.store.set_ban(entry.user_id, True, " ".join(args[2:]) or "moderation")
            return ctx.t("admin_flag_banned", flag=f"[{entry.id}]", user=entry.user_id)
        if entry.kind is FlagKind.IMAGE:
            await _release(ctx, entry)
        return ctx.t("admin_flag_cleared", flag=f"[{entry.id}]")
    asked = stored_id(how) if how else FLAGGED_SHOWN
    if asked is None:
        raise _usage(ctx)
    count = min(asked, MAX_SHOWN)
    entries = await ctx.store.flags(count)
    if not entries:
        return ctx.t("admin_flagged_empty")
    return "\n".join([await _line(ctx, entry) for entry in entries])


async def _release(ctx: Context, entry: FlagRecord) -> None:
    """Send a cleared result to its owner, where its job was asked for."""
    assert entry.image_id is not None and entry.job_id is not None
    image = await ctx.store.get_image(entry.image_id)
    job = await ctx.store.get_job(entry.job_id)
    if image is None or job is None:
        return
    destination = Destination.from_dict(job.destination)
    language = destination.extra.get("language")
    caption = text(language, "flagged_cleared", images=f"#{image_label(image)}")
    draft = images_draft(
        destination,
        [image.id],
        caption,
        result_buttons([image], edit=ctx.services.notifier.edit),
        key=key_of("flag", entry.id, "cleared"),
        user_id=job.user_id,
        job_id=job.id,
    )
    await ctx.services.outbox.post(draft)


async def _reported(ctx: Context) -> ImageRecord | None:
    command = ctx.command
    if command.reply_image_id is not None:
        return await ctx.store.get_image(command.reply_image_id)
    words = command.text.split()
    label = parse_label(words[0]) if words else None
    if label is None or label.given:
        return None
    return await ctx.store.job_image(label.job, label.index or 0)


async def report(ctx: Context) -> None:
    """A user reports a result they saw (the Report button): it goes to the admins."""
    image = await _reported(ctx)
    if image is None:
        asked = ctx.command.reply_image_id
        await ctx.reply("not_found_image", id=shown(ctx.command.text) if asked is None else asked)
        return
    await ctx.store.add_flag(
        FlagKind.REPORT,
        image.user_id,
        place_of(ctx.command.destination),
        job_id=image.job_id,
        image_id=image.id,
    )
    log.info("picture #%s was reported by %s", image_label(image), ctx.command.actor)
    await ctx.reply("report_done", id=image_label(image))


def router() -> Router:
    """The Report button's command (not in the menus)."""
    return Router(Route("report", report, listed=False))
