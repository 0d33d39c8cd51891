"""Every user-facing sentence, in one catalogue: English, Russian and Arabic."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Mapping

from generation.families import DEFAULT_FAMILIES, Families
from generation.messages import ERRORS
from generation.request import RequestError

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ru", "ar")
DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    # generation flow
    "queued": "Queued as job #{job}: position {position}, about {eta}.",
    "waiting": "Job #{job} is waiting: position {position}, about {eta}.",
    "started": "Job #{job} is drawing…",
    "queued_video": "Queued as job #{job}, a video for {cost} credits: position {position}, "
    "about {eta}.",
    "progress": "Job #{job}: {bar} {done}/{total}",
    "progress_encoding": "Job #{job}: {bar} {done}/{total}, encoding the video…",
    "video_too_large": "Video #{id} does not fit the {limit:.1f} MB this chat takes, even "
    "made smaller; it is kept in /history, and /show {id} has its recipe.",
    "done": "Job #{job} is done.",
    "caption": "{prompt}\nseed {seed} · Kandinsky {model} · {images}",
    "failed": "Sorry, job #{job} failed: {reason} Your quota was refunded.",
    "failed_internal": "something went wrong on our side.",
    "failed_interrupted": "the bot restarted twice while it was running.",
    "cancelled": "Job #{job} was cancelled and your quota refunded.",
    "recovered_requeued": "The bot restarted; job #{job} is still in the queue.",
    "recovered_retry": "The bot restarted while job #{job} was running; it will run once more.",
    "undelivered_results": "{count} of your results could not be sent to you; see /history.",
    # refusals
    "quota_exhausted": "You have no images left today ({limit} a day); it resets in {reset}.",
    "queue_full": "The queue is full right now ({size} jobs). Please try again in a few minutes.",
    "user_queue_full": "You already have {count} jobs waiting (the limit is {limit}). "
    "Please wait for one to finish.",
    "banned": "You cannot use this bot. Reason: {reason}",
    "paused": "The bot is not taking new jobs right now: {message}",
    "bad_input": "{error}",
    "need_picture": "Please attach a picture or reply to one to use /{command}.",
    "need_mask": "Please attach a mask (white = repaint) as a second picture, or send a "
    "transparent PNG as a file.",
    "unknown_command": "I don't know /{command}. Try /help.",
    "unknown_command_suggest": "I don't know /{command}. Did you mean /{suggestion}?",
    "error": "Something went wrong on our side; please try again in a moment.",
    "not_found_image": "There is no image #{id}.",
    "not_found_job": "There is no job #{id}.",
    "need_id": "Please give an id, for example /{command} 12.",
    "init_picture_missing": "This message has no PNG, JPEG or WebP picture to start from.",
    "edit_need_picture": "Which picture should /edit change? Send a photo with the caption "
    "/edit make it night, reply to a picture (or to one of my results) with /edit make it "
    "night, or name one of your images: /edit #12 make it night. On Discord: the image option "
    "of /edit, or Apps → Edit this image on a message.",
    "edit_need_instruction": "Say what to change after /edit, for example: /edit make it night",
    "edit_ask": "{mark} What should change in this picture? Reply to this message with it, for "
    "example: make it night",
    "edit_modal_title": "What should change?",
    "edit_modal_label": "Instruction",
    "edit_modal_example": "make it night, keep everything else",
    "upload_too_large": "Image #{id} is too large to upload here (the limit is {limit:.1f} MB); "
    "/show {id} has its recipe.",
    # durations (queue estimates, quota resets)
    "duration_seconds": "{n} s",
    "duration_minutes": "{n} min",
    "duration_hours": "{n} h",
    # user commands
    "history_header": "Your images, page {page} of {pages}:",
    "history_line": "#{id} · {prompt} · seed {seed} · Kandinsky {model}",
    "history_empty": "You have no images yet. Try /imagine a lighthouse at dusk",
    "history_no_page": "There is no page {page}. The last page of your images is {pages}: "
    "/history {pages}",
    "recipe": "Image #{id}: {task}, Kandinsky {model}, {width}x{height}, seed {seed}, "
    "{steps} steps, guidance {guidance}, scheduler {scheduler}.\nPrompt: {prompt}\n"
    "Negative: {negative}\nAgain: {again}",
    "quota_status": "Today you have used {used} of {limit} images and have {extra} extra "
    "credits: {remaining} left. It resets in {reset}.",
    "queue_status_line": "Job #{job}: position {position}, about {eta}.",
    "queue_status_running": "Job #{job} is drawing now.",
    "queue_empty": "You have no jobs in the queue.",
    "cancel_none": "You have no waiting job to cancel.",
    "cancel_running": "Job #{job} is running: it stops at its next step, and your quota "
    "comes back.",
    "cancel_too_late": "Job #{job} has already finished.",
    "settings_show": "Your defaults: model {model}, size {size}, steps {steps}, "
    "negative prompt: {negative}, language {language}.\nChange them with "
    '/settings --model 3 --size 768x512 --steps 30 --neg "blurry", or /settings reset.',
    "settings_saved": "Saved.",
    "language_set": "I will speak English with you.",
    "language_unknown": "I speak en (English), ru (Russian) and ar (Arabic).",
    "init_set": "Image #{id} will be the starting picture of your next /img2img, /inpaint or "
    "/depth.",
    "link_code": "Your link code is {code}. Within {minutes} minutes, send /link {code} from "
    "your account on the other platform to join both into one: one quota, one history, one "
    "set of settings.",
    "link_done": "Linked. Both accounts are now one (user #{user}): one quota, one history.",
    "link_bad": "That link code is wrong or has expired. Send /link on your other account for a "
    "new one.",
    "init_set_picture": "That picture will be the starting picture of your next /img2img, "
    "/inpaint or /depth.",
    "none": "none",
    "default": "default",
    # content filter
    "prompt_refused": "Sorry, I can't draw that prompt here: it asks for something this bot "
    "does not make. Nothing was taken from your quota.",
    "flagged_note": "⚠️ The safety check flagged {images}: tap to reveal.",
    "flagged_held": "Job #{job}: the safety check held back {images}; it was not sent here. "
    "It stays in your /history, and an admin may release it.",
    "flagged_cleared": "An admin checked {images} and released it.",
    "history_flagged": " · ⚠️",
    "report_done": "Thank you: picture #{id} was reported to the admins.",
    "admin_filter_added": "The prompt filter now lists that word.",
    "admin_filter_exists": "The prompt filter lists that word already.",
    "admin_filter_removed": "That word is no longer listed.",
    "admin_filter_missing": "The prompt filter does not list that word.",
    "admin_filter_list": "Listed words: {words}. Built-in list: {defaults}.",
    "admin_filter_defaults": "The built-in list is {state}.",
    "admin_on": "on",
    "admin_off": "off",
    "admin_policy": "Flagged pictures here: {policy}.",
    "admin_policy_allow_refused": "Flagged pictures can be shown plainly only in a Discord "
    "channel marked age-restricted.",
    "admin_flagged_line": "{flag} · {at} · {kind} · user #{user} · {place}{what} · {status}",
    "admin_flagged_empty": "Nothing was flagged.",
    "admin_flag_missing": "There is no open entry {flag}.",
    "admin_flag_cleared": "Entry {flag} cleared; its picture goes to its owner.",
    "admin_flag_banned": "Entry {flag}: user #{user} is banned.",
    # admin
    "not_admin": "Only admins can do that.",
    "admin_usage": "Admin commands: ban USER [reason], unban USER, quota set|grant|reset USER "
    "[N], stats, queue, cancel JOB, pause [message], resume, models, preload MODEL, unload "
    "[MODEL], audit [N], filter add|remove WORDS, filter list, filter defaults on|off, "
    "policy [allow|spoiler|block], flagged [N], flagged clear|ban ENTRY. USER is platform:id or "
    "#number.",
    "admin_no_user": "I don't know the user {user}.",
    "admin_banned": "User #{user} is banned: {reason}",
    "admin_unbanned": "User #{user} is no longer banned.",
    "admin_quota": "User #{user}: {used} of {limit} used today, {extra} extra credits.",
    "admin_stats": "Users: {users}. Jobs: {jobs}. Images today: {images}. Wait p50/p95: "
    "{wait}. Run p50/p95: {run}.",
    "admin_queue_line": "#{job} · {status} · user #{user} · {prompt}",
    "admin_queue_empty": "The queue is empty.",
    "admin_cancelled": "Job #{job} cancelled.",
    "admin_paused": "Intake paused: {message}",
    "admin_resumed": "Intake resumed.",
    "admin_models": "Available: {available}.",
    "admin_models_worker": "{worker} ({device}), serves {families}: {loaded}",
    "admin_models_none": "No worker is running.",
    "admin_nothing": "nothing",
    "admin_preloaded": "{worker}: Kandinsky {model} is loaded; it holds {loaded}.",
    "admin_preload_failed": "{worker}: could not load Kandinsky {model}: {error}",
    "admin_unloaded": "{worker}: unloaded {count} pipelines; it holds {loaded}.",
    "admin_unload_failed": "{worker}: could not unload: {error}",
    "admin_no_worker_for": "No running worker serves Kandinsky {model}.",
    "admin_silent": "No answer yet from {workers} (still working, or stopped).",
    "admin_audit_line": "{at} · {actor} · {what} · {allowed}",
    "admin_audit_empty": "The audit log is empty.",
    "admin_allowed": "done",
    "admin_refused": "refused",
    "pause_default": "maintenance",
    # help
    "help": "I draw pictures with Kandinsky. Commands:\n"
    "/imagine PROMPT: draw a picture\n/img2img (with a picture) PROMPT: redraw it\n"
    "/inpaint (picture + mask) PROMPT: repaint the white part\n"
    "/mix a cat::0.3 | #1::0.7: blend texts and pictures\n"
    "/depth (with a picture) PROMPT: keep its shape\n"
    "/edit (with a picture) INSTRUCTION: change it as you say (Kandinsky 5)\n"
    "/animate PROMPT: a short video (with a picture: set it in motion)\n"
    "/history, /show ID, /reroll ID, /variations ID, /init ID, /settings, /quota, /queue, "
    "/cancel, /language, /link, /help COMMAND\n"
    "Options: --model {models} --size 768x512 --ar 16:9 --seed 42 --steps 30 --cfg 4 "
    '--prior-cfg 4 --strength 0.6 --neg "..." --scheduler ddim --n 2 --from 12 '
    "--seconds 5 --fps 24 --fast\n"
    "Image #12 is what job #12 made (#12.1, #12.2 when it made several); --from 12 starts "
    "from it.",
    "help_imagine": "/imagine PROMPT [options]: draw a picture. Example: "
    "/imagine a lighthouse at dusk --ar 16:9 --seed 42",
    "help_img2img": "/img2img PROMPT [--strength 0.6]: send it with a picture (or reply to one, "
    "or name one of your images with --from 12). Example: /img2img a watercolor painting "
    "--strength 0.5",
    "help_inpaint": "/inpaint PROMPT: send a picture and a mask (white = repaint), or a "
    "transparent PNG as a file; --from 12,14.in names stored ones (picture, then mask). "
    "Example: /inpaint a red door",
    "help_mix": "/mix ITEM | ITEM: blend texts and attached pictures (#1, #2) with weights. "
    "Example: /mix a cat::0.3 | #1::0.7",
    "help_depth": "/depth PROMPT [--init]: keep the shape of the attached picture (ControlNet "
    "depth, Kandinsky 2.2); --init also starts from it. Example: /depth a stone tower",
    "help_edit": "/edit INSTRUCTION: change a picture as you say (Kandinsky 5). Send it with a "
    "photo, as a reply to a picture or to one of my results, or name one of your images: "
    "/edit #12 make it night. The ✏️ button under a result asks what to change. "
    "Example: /edit make it night",
    "help_animate": "/animate PROMPT [--seconds 5|10] [--fps 24] [--fast]: a short video "
    "(Kandinsky 5 Video); send it with a picture (or reply to one, or --from 12) to set that "
    "picture in motion. A video costs more than a picture. Example: /animate a paper boat on "
    "a river",
    "help_reroll": "/reroll ID: the same recipe with a new seed. Example: /reroll 12",
    "help_variations": "/variations ID: variations of one of your images. Example: /variations 12",
    "help_init": "/init ID: use an image as the starting picture of your next command.",
    "help_history": "/history [PAGE]: your images with their numbers (#12, or #12.2 for the "
    "second of several job #12 made).",
    "help_show": "/show ID: an image's recipe, and the command that makes it again "
    "(12.in is the picture you sent with job #12). Example: /show 12",
    "help_settings": '/settings [--model 3] [--size 768x512] [--steps 30] [--neg "..."] or '
    "/settings reset: your defaults.",
    "help_quota": "/quota: how many images you have left today.",
    "help_queue": "/queue: where your jobs are in the queue.",
    "help_cancel": "/cancel [JOB]: cancel your waiting job.",
    "help_language": "/language en|ru|ar: the language I speak with you.",
    "help_admin": "/admin ...: commands for admins.",
    "help_help": "/help [COMMAND]: what I can do.",
    "help_link": "/link, then /link CODE on your other platform: one quota and history for both.",
    # the console (`kandinsky-bot chat`): its banner, its own help and refusals of a line
    "console_ready": "Kandinsky bot {version} is ready: type a command.",
    "console_defaults": "A prompt gets {model}, {size}, {steps} steps unless you say otherwise "
    "(--size 768x512 --steps 30, or /settings).",
    "console_defaults_cpu": "No GPU here, so a prompt gets {model}, {size}, {steps} steps: a "
    "picture in seconds. Options (--size 768x512 --steps 30) or /settings change that.",
    "console_places": "Pictures are saved in {pictures}; the database and its copies of them "
    "are in {data}.",
    "console_help": "In this terminal: a line of two or more words without a command is a "
    "prompt for /imagine; a file name attaches that picture (in quotes if it has spaces: "
    '"my photo.png"); a number presses a button of the latest result. /quit or Ctrl-D leaves '
    "when the jobs are done; Ctrl-C stops at once and cancels them.",
    "console_one_word": "“{word}” is not a command, and one word is too short for a prompt. "
    "Type /help for the commands, or /imagine {word} to draw it.",
    "console_needs_slash": "Commands start with a slash: /{command}. Type /help for all of them.",
    "console_no_file": "There is no file {name}. Check the name; a name with spaces goes in "
    'quotes: "my photo.png".',
    "console_cannot_read": "I cannot read the file {name}: {reason}.",
    "console_stopping": "Stopping: your jobs are cancelled. Press Ctrl-C again to quit at once.",
}

from bot.i18n.ar import AR, AR_ERRORS  # noqa: E402 - the catalogues follow the English one
from bot.i18n.ru import RU, RU_ERRORS  # noqa: E402

ERROR_TRANSLATIONS: dict[str, dict[str, str]] = {"en": ERRORS, "ru": RU_ERRORS, "ar": AR_ERRORS}
"""Each language's error sentences by id (`generation.messages.ERRORS` ids)."""


def error_key(error_id: str) -> str:
    """The catalogue key of the error sentence `error_id`."""
    return f"error.{error_id}"


def _with_errors(table: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    return {**table, **{error_key(error_id): template for error_id, template in errors.items()}}


EN: dict[str, str] = _with_errors(_EN, ERRORS)
CATALOGUE: dict[str, dict[str, str]] = {
    "en": EN,
    "ru": _with_errors(RU, RU_ERRORS),
    "ar": _with_errors(AR, AR_ERRORS),
}


def normalise_language(code: str | None) -> str:
    """Map a locale such as `ru-RU` or `ar_EG` onto a language we speak."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in CATALOGUE else DEFAULT_LANGUAGE


def text(language: str | None, key: str, /, **values: object) -> str:
    """Return the sentence `key` in `language` (English when missing), filled in."""
    table: Mapping[str, str] = CATALOGUE.get(normalise_language(language), EN)
    template = table.get(key) or EN[key]
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        log.error("message %s in %s has placeholders that do not match", key, language)
        return EN[key].format(**values)


def help_text(
    language: str | None, families: Families = DEFAULT_FAMILIES, platform: str | None = None
) -> str:
    """The general help in `language`; its `--model` lists the families of `families`.

    A platform with ways of its own (the console's /quit, Ctrl-D, files and numbers) has
    them under `{platform}_help`, added at the end.
    """
    general = text(language, "help", models="|".join(families.names()))
    own = f"{platform}_help"
    return f"{general}\n{text(language, own)}" if platform and own in EN else general


def describe_error(error: RequestError, language: str | None) -> str:
    """`error` as a sentence in `language`.

    A catalogued error (made with `RequestError.of`) is rendered from the catalogue, in
    English where the language lacks it; any other error gives its own message.
    """
    if error.key is None or error_key(error.key) not in EN:
        return str(error)
    return text(language, error_key(error.key), **error.values)


# A job that failed on a catalogued error stores this prefix and the error's id and values as
# JSON, so whoever tells its owner (any frontend, later) can word it in the owner's language.
_REASON_PREFIX = "error:"


def reason_of(error: RequestError) -> str:
    """What a job that failed on `error` stores as its reason (see `describe_reason`)."""
    if error.key is None:
        return str(error)
    try:
        encoded = json.dumps({"id": error.key, "values": error.values}, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(error)
    return _REASON_PREFIX + encoded


def describe_reason(reason: str, language: str | None) -> str:
    """A stored failure reason as a sentence in `language` (other reasons as they are)."""
    if not reason.startswith(_REASON_PREFIX):
        return reason
    try:
        decoded = json.loads(reason.removeprefix(_REASON_PREFIX))
        key, values = error_key(str(decoded["id"])), dict(decoded["values"])
    except (ValueError, KeyError, TypeError):
        return reason
    if key not in EN:
        return reason
    return text(language, key, **values)


def placeholders(template: str) -> set[str]:
    """The `{names}` a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
