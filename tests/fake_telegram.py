"""A fake Telegram Bot API server on 127.0.0.1, for driving the real python-telegram-bot.

It serves the methods the adapter calls under `/bot<token>/<method>` and files under
`/file/bot<token>/<path>`, records every call (method, decoded parameters, uploaded files,
time), queues updates for long polling, and can answer the next calls of a method with an
error as Telegram words it: 429 (retry after 1 s), 500, 502, 403 (the user blocked the bot),
400 (chat not found, or a description given). A call whose files are larger together than
`upload_limit` is answered 413 Request Entity Too Large, as the Bot API does over its 50 MB.
`on_call` sees each call as it arrives, before it is answered (a test may kill the bot there).
Helpers build the updates a user would cause: text, photos, documents, albums, replies and
button presses.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

BOT_ID = 999
BOT_USERNAME = "TestBot"

JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "media",
        "reply_markup",
        "reply_parameters",
        "scope",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "timeout",
        "limit",
        "message_thread_id",
        "duration",
        "width",
        "height",
    }
)
BOOL_FIELDS = frozenset({"has_spoiler", "disable_notification", "protect_content"})
UPLOAD_LIMIT = 50 * 2**20
"""Bytes a bot may upload in one call (the Bot API's limit)."""


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = 0.0
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        """The chat the call went to, if any."""
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def reply_to(self) -> int | None:
        """The message this call answers (its reply parameters), if any."""
        reply = self.params.get("reply_parameters") or {}
        return reply.get("message_id")

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, flattened."""
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass(frozen=True)
class User:
    """A Telegram user the tests act as."""

    id: int
    first_name: str = "Alice"
    username: str | None = "alice"
    language_code: str | None = "en"

    def to_dict(self) -> dict[str, Any]:
        """The Bot API `User` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


def chat_dict(chat_id: int, user: User) -> dict[str, Any]:
    """The Bot API `Chat` object: private for positive ids, a supergroup otherwise."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": user.first_name}
    return {"id": chat_id, "type": "supergroup", "title": "Test group"}


class FakeTelegram:
    """The fake Bot API server; use `async with FakeTelegram(token) as fake:`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.downloads: list[str] = []
        self.files: dict[str, bytes] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.port = 0
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._fail_next: dict[str, list[tuple[int, str | None]]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.on_call: Callable[[Call], None] | None = None
        """Called with each recorded call before it is answered."""
        self.upload_limit = UPLOAD_LIMIT
        """Bytes the files of one call may have; more is answered 413."""

    # -- server --------------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What `KBOT_TELEGRAM_BASE_URL` would be."""
        return f"http://127.0.0.1:{self.port}"

    def revoke(self) -> None:
        """The token is revoked: every later call is answered 401 Unauthorized."""
        self.token = f"{self.token}-revoked"
        self._new_update.set()  # a pending long poll returns now

    def fail_next(
        self, method: str, status: int = 429, *, times: int = 1, description: str | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with 429 (retry after 1 s) or another
        error (`description`: Telegram's words for it, else the usual ones for the status)."""
        self._fail_next.setdefault(method, []).extend([(status, description)] * times)

    def heal(self, method: str) -> None:
        """Answer `method` normally again (failures still set are dropped)."""
        self._fail_next.pop(method, None)

    def failing(self, method: str) -> int:
        """How many failures are still set for `method`."""
        return len(self._fail_next.get(method, ()))

    def results(self, chat_id: int, message_id: int, *, after: int = 0) -> list[Call]:
        """The results that reached the chat answering `message_id` (failed calls left out)."""
        return [
            call
            for call in self.calls[after:]
            if call.method in ("sendPhoto", "sendDocument", "sendMediaGroup", "sendVideo")
            and call.chat_id == chat_id
            and call.reply_to == message_id
            and not isinstance(call.result, str)
        ]

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, files, time.monotonic())
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        failures = self._fail_next.get(method)
        if failures:
            status, description = failures.pop(0)
            call.result = str(status)
            return _failure(status, description)
        if sum(map(len, files.values())) > self.upload_limit:
            call.result = "413"
            return _error(413, "Request Entity Too Large")
        if method == "getUpdates":
            call.result = await self._get_updates(params)
            return web.json_response({"ok": True, "result": call.result})
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            call.result = "404"
            return _error(404, "Not Found: method not found")
        call.result = handler(call)
        return web.json_response({"ok": True, "result": call.result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        file_id = request.match_info["path"].rpartition("/")[2]
        if file_id not in self.files:
            return _error(404, "Not Found")
        self.downloads.append(file_id)
        return web.Response(body=self.files[file_id])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and not self._closing:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), float(params.get("timeout") or 0))
        return list(self._updates)

    # -- Bot API methods -----------------------------------------------------------------
    def _api_getMe(self, call: Call) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Kandinsky",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_deleteWebhook(self, call: Call) -> bool:
        return True

    def _api_setWebhook(self, call: Call) -> bool:
        return True

    def _api_setMyCommands(self, call: Call) -> bool:
        return True

    def _api_sendChatAction(self, call: Call) -> bool:
        return True

    def _api_answerCallbackQuery(self, call: Call) -> bool:
        return True

    def _api_getFile(self, call: Call) -> dict[str, Any]:
        file_id = str(call.params["file_id"])
        data = self.files.get(file_id, b"")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": f"files/{file_id}",
        }

    def _api_sendMessage(self, call: Call) -> dict[str, Any]:
        return self._bot_message(call, {"text": call.params["text"]})

    def _api_editMessageText(self, call: Call) -> dict[str, Any]:
        key = (int(call.params["chat_id"]), int(call.params["message_id"]))
        message = self.messages[key]
        message["text"] = call.params["text"]
        return message

    def _api_sendPhoto(self, call: Call) -> dict[str, Any]:
        fields = self._media("photo", call.files["photo"])
        if call.params.get("has_spoiler"):
            fields["has_media_spoiler"] = True
        return self._bot_message(call, fields)

    def _api_sendDocument(self, call: Call) -> dict[str, Any]:
        return self._bot_message(call, self._media("document", call.files["document"]))

    def _api_sendVideo(self, call: Call) -> dict[str, Any]:
        """A video; its thumbnail, when uploaded, is named by `attach://`."""
        file_id = f"sent{next(self._file_ids)}"
        data = call.files["video"]
        self.files[file_id] = data
        fields: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "width": int(call.params.get("width") or 0),
            "height": int(call.params.get("height") or 0),
            "duration": int(call.params.get("duration") or 0),
            "file_size": len(data),
            "mime_type": "video/mp4",
        }
        thumbnail = str(call.params.get("thumbnail") or "")
        if thumbnail.startswith("attach://"):
            thumb = call.files[thumbnail.removeprefix("attach://")]
            fields["thumbnail"] = photo_sizes(f"{file_id}-thumb", thumb)[-1]
        return self._bot_message(call, {"video": fields})

    def _api_sendMediaGroup(self, call: Call) -> list[dict[str, Any]]:
        group = f"album{next(self._file_ids)}"
        sent = []
        for item in call.params["media"]:
            data = call.files[item["media"].removeprefix("attach://")]
            fields = self._media(item["type"], data) | {"media_group_id": group}
            if item.get("has_spoiler"):
                fields["has_media_spoiler"] = True
            if item.get("caption"):
                fields["caption"] = item["caption"]
            sent.append(self._bot_message(call, fields, caption=False))
        return sent

    def _media(self, kind: str, data: bytes) -> dict[str, Any]:
        file_id = f"sent{next(self._file_ids)}"
        self.files[file_id] = data
        if kind == "document":
            return {
                "document": {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data)}
            }
        return {"photo": photo_sizes(file_id, data)}

    def _bot_message(
        self, call: Call, fields: dict[str, Any], *, caption: bool = True
    ) -> dict[str, Any]:
        chat_id = int(call.params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat_dict(chat_id, User(chat_id)),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Kandinsky"},
            **fields,
        }
        if caption and call.params.get("caption"):
            message["caption"] = call.params["caption"]
        markup = call.params.get("reply_markup")
        if markup and "inline_keyboard" in markup:  # a message shows only an inline keyboard
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    # -- what users do -------------------------------------------------------------------
    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()

    def _message(
        self, chat_id: int, user: User, reply_to: int | None, **fields: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat_dict(chat_id, user),
            "from": user.to_dict(),
        }
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat_id, reply_to)]
        message.update({key: value for key, value in fields.items() if value is not None})
        self.messages[(chat_id, message["message_id"])] = message
        self._push({"message": message})
        return message

    def text(self, chat_id: int, user: User, text: str, *, reply_to: int | None = None) -> int:
        """A user sends a text message; returns its message id."""
        return self._message(chat_id, user, reply_to, text=text, entities=_entities(text))[
            "message_id"
        ]

    def photo(
        self,
        chat_id: int,
        user: User,
        data: bytes,
        caption: str | None = None,
        *,
        reply_to: int | None = None,
        media_group_id: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """A user sends a (compressed) photo, optionally with a caption."""
        file_id = f"in{next(self._file_ids)}"
        self.files[file_id] = data
        sizes = photo_sizes(file_id, data, file_size)
        return self._message(
            chat_id,
            user,
            reply_to,
            photo=sizes,
            caption=caption,
            caption_entities=_entities(caption),
            media_group_id=media_group_id,
        )["message_id"]

    def document(
        self,
        chat_id: int,
        user: User,
        data: bytes,
        filename: str,
        mime_type: str,
        caption: str | None = None,
        *,
        reply_to: int | None = None,
        file_size: int | None = None,
    ) -> int:
        """A user sends a file (no recompression)."""
        file_id = f"in{next(self._file_ids)}"
        self.files[file_id] = data
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        return self._message(
            chat_id,
            user,
            reply_to,
            document=document,
            caption=caption,
            caption_entities=_entities(caption),
        )["message_id"]

    def album(
        self, chat_id: int, user: User, pictures: list[bytes], caption: str, *, caption_on: int = 0
    ) -> list[int]:
        """A user sends several photos as one album; the caption is on one of them."""
        group = f"{next(self._file_ids)}0042"
        return [
            self.photo(
                chat_id,
                user,
                data,
                caption if number == caption_on else None,
                media_group_id=group,
            )
            for number, data in enumerate(pictures)
        ]

    def press(self, chat_id: int, user: User, message_id: int, data: str) -> str:
        """A user presses an inline button under one of the bot's messages."""
        query_id = f"q{next(self._update_ids)}"
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                    "message": self.messages[(chat_id, message_id)],
                }
            }
        )
        return query_id

    # -- what tests wait for -------------------------------------------------------------
    async def post_updates(self, url: str, secret: str | None) -> list[int]:
        """Deliver the queued updates to a webhook as Telegram does: one POST each.

        Returns the HTTP status of each POST; delivered updates leave the queue.
        """
        import aiohttp

        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        statuses = []
        async with aiohttp.ClientSession() as session:
            while self._updates:
                update = self._updates[0]
                async with session.post(url, json=update, headers=headers) as response:
                    statuses.append(response.status)
                if response.status == 200:
                    self._updates.pop(0)
                else:
                    break
        return statuses

    def find(self, method: str | None = None, *, after: int = 0, **where: Any) -> list[Call]:
        """Recorded calls of `method` (since `after`) whose properties/params equal `where`."""
        found = []
        for call in self.calls[after:]:
            if method is not None and call.method != method:
                continue
            if all(_get(call, key) == value for key, value in where.items()):
                found.append(call)
        return found

    async def wait(
        self, predicate: Callable[[], Any], *, within: float = 30.0, what: str = "a call"
    ) -> Any:
        """Wait until `predicate()` is truthy and return its value."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                shown = "\n".join(f"{c.method} {c.params}" for c in self.calls[-15:])
                raise AssertionError(f"timed out waiting for {what}; last calls:\n{shown}")
            await asyncio.sleep(0.02)

    def mark(self) -> int:
        """A point in the record: pass it as `after` to look only at later calls."""
        return len(self.calls)

    async def answer(
        self,
        chat_id: int,
        message_id: int,
        methods: tuple[str, ...],
        *,
        after: int = 0,
        needle: str = "",
        within: float = 30.0,
    ) -> Call:
        """Wait for the first successful call of `methods` replying to `message_id`.

        With `needle`, only a call whose text or caption contains it counts.
        """

        def found() -> Call | None:
            for call in self.calls[after:]:
                shown = str(call.params.get("text") or call.params.get("caption") or "")
                if needle not in shown:
                    continue
                if (
                    call.method in methods
                    and call.chat_id == chat_id
                    and call.reply_to == message_id
                    and not isinstance(call.result, str)
                ):
                    return call
            return None

        what = f"{methods} replying to {message_id} {needle!r}"
        result: Call = await self.wait(found, within=within, what=what)
        return result


def _get(call: Call, key: str) -> Any:
    if hasattr(call, key):
        return getattr(call, key)
    return call.params.get(key)


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _failure(status: int, description: str | None = None) -> web.Response:
    if status != 429:
        return _error(status, description or _DESCRIPTIONS.get(status, "Bad Gateway"))
    return web.json_response(
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
        status=429,
    )


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def _entities(text: str | None) -> list[dict[str, Any]] | None:
    if not text or not text.startswith("/"):
        return None
    return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]


def photo_sizes(file_id: str, data: bytes, file_size: int | None = None) -> list[dict[str, Any]]:
    """Telegram's `PhotoSize` list: a thumbnail and the full picture (the last)."""
    try:
        width, height = Image.open(io.BytesIO(data)).size
    except OSError:
        width, height = 64, 64
    return [
        {
            "file_id": f"{file_id}-thumb",
            "file_unique_id": f"u{file_id}-thumb",
            "width": 32,
            "height": 32,
            "file_size": 100,
        },
        {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "width": width,
            "height": height,
            "file_size": len(data) if file_size is None else file_size,
        },
    ]


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
        elif key in JSON_FIELDS:
            params[key] = json.loads(str(value))
        elif key in INT_FIELDS and str(value).lstrip("-").isdigit():
            params[key] = int(str(value))
        elif key in BOOL_FIELDS:
            params[key] = str(value).lower() == "true"
        else:
            params[key] = str(value)
    return params, files
