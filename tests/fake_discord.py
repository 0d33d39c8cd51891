"""A fake Discord (REST, gateway and CDN) on 127.0.0.1, for the real discord.py client.

The client reaches it through its public `connector` option: an aiohttp `TCPConnector` whose
resolver sends discord.com, *.discord.gg, cdn.discordapp.com and media.discordapp.net to
this server's port, and whose SSL context trusts a trustme CA that signed the server's
certificate for those names. Nothing of discord.py is patched.

The server records every request (method, path, arrival time, JSON or multipart payload and
files), answers like Discord does for the routes the bot uses, can answer the next request
to a route with a 429 or the next few with a server error, answer files over `upload_limit`
with 413 (Request entity too large, as Discord does), refuse an interaction token (401
on its webhook, 404 on its callback, as Discord does once it expired), lets a test look at
each request before it is answered (`on_request`), and pushes gateway events
(`INTERACTION_CREATE`) to the connected client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

API = "/api/v10"
APP_ID = 900_000_000_000_000_001
GUILD_ID = 700_000_000_000_000_001
CHANNEL_ID = 710_000_000_000_000_001
DISCORD_EPOCH_MS = 1_420_070_400_000
HOSTS = ("discord.com", "gateway.discord.gg", "cdn.discordapp.com", "media.discordapp.net")
BOT_USER = {
    "id": str(APP_ID),
    "username": "kandinsky",
    "discriminator": "0",
    "global_name": "Kandinsky",
    "avatar": None,
    "bot": True,
    "public_flags": 0,
}


_INCREMENTS = itertools.count(1)
_TOKENS = itertools.count(1)


def snowflake(at: datetime | None = None) -> int:
    """A Discord id whose embedded time is `at` (now by default)."""
    moment = at or datetime.now(UTC)
    milliseconds = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (milliseconds << 22) | (next(_INCREMENTS) & 0x3FFFFF)


def user(user_id: int, name: str) -> dict[str, Any]:
    """A user payload."""
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "public_flags": 0,
    }


@dataclass
class Upload:
    """A file part of a multipart request."""

    name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    at: float
    json: Any = None
    files: list[Upload] = field(default_factory=list)
    status: int = 200

    def match(self, method: str, pattern: str) -> re.Match[str] | None:
        """The path's match against `pattern` (a regex, API prefix implied) for `method`."""
        if self.method != method:
            return None
        return re.fullmatch(API + pattern, self.path)


class LoopbackResolver(AbstractResolver):
    """Resolves Discord's host names to the fake server on 127.0.0.1; nothing else."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Every Discord name is the fake server."""
        if host not in HOSTS and not host.endswith(".discord.gg"):
            raise OSError(f"the fake resolver knows no {host}")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self.port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""


class FakeDiscord:
    """The fake server; `async with FakeDiscord(token) as fake:` starts and stops it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.cdn_requests: list[str] = []
        self.identified: list[dict[str, Any]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.refused_tokens: set[str] = set()
        self.ready = asyncio.Event()
        self.patience = 60.0
        """Seconds `wait_for` and `connected` wait before failing the test."""
        self.upload_limit = 10 * 2**20
        """Bytes the files of one message may have together; more is answered 413."""
        self.on_request: Callable[[Recorded], Awaitable[None]] | None = None
        """Awaited with each REST request once it is recorded, before it is answered."""
        self._cdn: dict[str, tuple[bytes, str]] = {}
        self._originals: dict[str, int] = {}
        self._rate_limits: list[tuple[str, str]] = []
        self._failures: list[tuple[str, str, int]] = []
        self._changed = asyncio.Condition()
        self._socket: web.WebSocketResponse | None = None
        self._sequence = 0
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert(*HOSTS, "*.discord.gg", "*.discord.com", "127.0.0.1")
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, str, Callable[[Recorded, re.Match[str]], Any]]] = [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("GET", r"/gateway(?:/bot)?", self._gateway_url),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/(\d+)", self._edit_message),
            ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._delete_original),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._follow_up),
            ("POST", r"/channels/(\d+)/messages", self._channel_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_channel_message),
        ]

    # -- lifecycle -------------------------------------------------------------------
    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(server_ssl)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_ssl)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def connector(self) -> aiohttp.TCPConnector:
        """A connector that reaches this fake (for `discord.Client(connector=...)`)."""
        client_ssl = ssl.create_default_context()
        self._ca.configure_trust(client_ssl)
        return aiohttp.TCPConnector(resolver=LoopbackResolver(self.port), ssl=client_ssl)

    # -- switches --------------------------------------------------------------------
    def rate_limit_next(self, method: str, pattern: str) -> None:
        """Answer the next `method` request whose path matches `pattern` with a 429."""
        self._rate_limits.append((method, pattern))

    def fail_next(self, method: str, pattern: str, status: int = 500, *, times: int = 1) -> None:
        """Answer the next `times` `method` requests whose path matches `pattern` with
        `status` (a server error, say)."""
        self._failures.extend([(method, pattern, status)] * times)

    def refuse_token(self, token: str) -> None:
        """Refuse this interaction token like an expired one: its webhook 401, its callback 404."""
        self.refused_tokens.add(token)

    def cdn_file(
        self,
        filename: str,
        data: bytes,
        content_type: str | None = "image/png",
        *,
        size: int | None = None,
    ) -> dict[str, Any]:
        """Serve `data` on the fake CDN; return its attachment payload (`size` may lie)."""
        attachment_id = snowflake()
        path = f"/attachments/{CHANNEL_ID}/{attachment_id}/{filename}"
        self._cdn[path] = (data, content_type or "application/octet-stream")
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": f"https://cdn.discordapp.com{path}",
            "proxy_url": f"https://media.discordapp.net{path}",
        }
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    # -- waiting ---------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[Recorded], bool]) -> Recorded:
        """The first recorded request (old or new) that satisfies `predicate`.

        Waits at most `patience` seconds for it.
        """
        async with asyncio.timeout(self.patience), self._changed:
            while True:
                for record in self.requests:
                    if predicate(record):
                        return record
                await self._changed.wait()

    async def connected(self, count: int) -> None:
        """Wait until the client has identified `count` times in all and READY was sent."""
        async with asyncio.timeout(self.patience), self._changed:
            await self._changed.wait_for(
                lambda: len(self.identified) >= count and self.ready.is_set()
            )

    def message_with(self, custom_id: str) -> dict[str, Any]:
        """The message that carries a component with this custom id."""
        for message in self.messages.values():
            for row in message["components"]:
                if any(child.get("custom_id") == custom_id for child in row["components"]):
                    return message
        raise LookupError(custom_id)

    def user_message(
        self, author: dict[str, Any], attachments: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A message someone posted (with pictures) in the channel."""
        message = self._message(CHANNEL_ID, {}, [], kind=0)
        message.update(author=author, attachments=attachments, webhook_id=None, application_id=None)
        return message

    def find(self, predicate: Callable[[Recorded], bool]) -> list[Recorded]:
        """Every recorded request that satisfies `predicate`."""
        return [record for record in self.requests if predicate(record)]

    # -- gateway events --------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to the connected client."""
        await self.ready.wait()
        assert self._socket is not None
        self._sequence += 1
        await self._socket.send_json({"op": 0, "t": event, "s": self._sequence, "d": data})

    async def interact(self, payload: dict[str, Any]) -> str:
        """Push an INTERACTION_CREATE; return its token."""
        await self.dispatch("INTERACTION_CREATE", payload)
        return str(payload["token"])

    # -- the server ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._gateway(request)
        if request.path.startswith("/attachments/"):
            return self._serve_cdn(request)
        record = await self._record(request)
        if self.on_request is not None:
            await self.on_request(record)
        try:
            response = self._refusal(record)
            if response is None:
                response = await self._route(record, request)
        finally:
            async with self._changed:
                self._changed.notify_all()
        record.status = response.status
        return response

    async def _record(self, request: web.Request) -> Recorded:
        record = Recorded(request.method, request.path, dict(request.query), time.monotonic())
        self.requests.append(record)
        kind = request.headers.get("Content-Type", "")
        if kind.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                assert isinstance(part, aiohttp.BodyPartReader)
                data = await part.read()
                if part.name == "payload_json":
                    record.json = json.loads(data)
                else:
                    part_type = part.headers.get("Content-Type", "application/octet-stream")
                    upload = Upload(part.name or "", part.filename or "", part_type, bytes(data))
                    record.files.append(upload)
        elif kind.startswith("application/json"):
            record.json = await request.json()
        return record

    def _refusal(self, record: Recorded) -> web.Response | None:
        if sum(len(upload.data) for upload in record.files) > self.upload_limit:
            return _json({"message": "Request entity too large", "code": 40005}, status=413)
        for index, (method, pattern, status) in enumerate(self._failures):
            if record.match(method, pattern):
                del self._failures[index]
                return _json({"message": "Internal Server Error", "code": 0}, status=status)
        for index, (method, pattern) in enumerate(self._rate_limits):
            if record.match(method, pattern):
                del self._rate_limits[index]
                headers = {
                    "Retry-After": "0.5",
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": "0.5",
                    "X-RateLimit-Bucket": "fake-bucket",
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",
                }
                body = {
                    "retry_after": 0.5,
                    "global": False,
                    "message": "You are being rate limited.",
                }
                return _json(body, status=429, headers=headers)
        webhook = re.fullmatch(API + r"/webhooks/\d+/([^/]+)(?:/.*)?", record.path)
        if webhook is not None and webhook.group(1) in self.refused_tokens:
            body = {"message": "Invalid Webhook Token", "code": 50027}
            return _json(body, status=401)
        callback = re.fullmatch(API + r"/interactions/\d+/([^/]+)/callback", record.path)
        if callback is not None and callback.group(1) in self.refused_tokens:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        return None

    async def _route(self, record: Recorded, request: web.Request) -> web.Response:
        for method, pattern, handler in self._routes:
            match = record.match(method, pattern)
            if match is not None:
                with_token = not record.path.startswith((API + "/webhooks", API + "/interactions"))
                if with_token and request.headers.get("Authorization") != f"Bot {self.token}":
                    return _json({"message": "401: Unauthorized"}, status=401)
                result = handler(record, match)
                if result is None:
                    return web.Response(status=204)
                return _json(result)
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _serve_cdn(self, request: web.Request) -> web.Response:
        self.cdn_requests.append(request.path)
        found = self._cdn.get(request.path)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        self._socket = socket_
        await socket_.send_json(
            {"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None}
        )
        async for message in socket_:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data["op"] == 1:
                await socket_.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif data["op"] == 2:
                await self._identify(socket_, data["d"])
        self.ready.clear()
        return socket_

    async def _identify(self, socket_: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identified.append(data)
        if data.get("token") != self.token:
            await socket_.close(code=4004, message=b"Authentication failed.")
            return
        self._sequence += 1
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [],
            "session_id": f"session-{self._sequence}",
            "resume_gateway_url": "wss://gateway.discord.gg",
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await socket_.send_json({"op": 0, "t": "READY", "s": self._sequence, "d": ready})
        self.ready.set()
        async with self._changed:
            self._changed.notify_all()

    # -- REST routes -----------------------------------------------------------------
    def _me(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return BOT_USER

    def _application(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return {
            "id": str(APP_ID),
            "name": "Kandinsky",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user(1, "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
        }

    def _gateway_url(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return {"url": "wss://gateway.discord.gg", "shards": 1, "session_start_limit": limit}

    def _put_commands(self, record: Recorded, match: re.Match[str]) -> list[dict[str, Any]]:
        guild = int(match.group(2)) if match.lastindex and match.lastindex > 1 else None
        commands = []
        for command in record.json or []:
            stored = {"description": "", "type": 1, **command}
            stored |= {"id": str(snowflake()), "application_id": str(APP_ID), "version": "1"}
            if guild is not None:
                stored["guild_id"] = str(guild)
            commands.append(stored)
        self.commands[guild] = commands
        return commands

    def _callback(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        """A deferral (type 5: "thinking") or an answer (type 4) creates the original."""
        body = record.json or {}
        kind = body.get("type")
        interaction: dict[str, Any] = {"id": match.group(1), "type": kind}
        if kind not in (4, 5):
            return {"interaction": interaction}
        data = body.get("data") or {}
        thinking = kind == 5
        flags = data.get("flags", 0) | (128 if thinking else 0)
        content = {"content": "", "flags": flags} if thinking else {**data, "flags": flags}
        files = [] if thinking else record.files
        message = self._message(CHANNEL_ID, content, files, kind=20)
        self._originals[match.group(2)] = int(message["id"])
        interaction |= {
            "response_message_id": message["id"],
            "response_message_loading": thinking,
            "response_message_ephemeral": bool(flags & 64),
        }
        return {"interaction": interaction, "resource": {"type": kind, "message": message}}

    def _edit_original(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        message_id = self._originals[match.group(2)]
        return self._update(message_id, record, flags_off=128)

    def _delete_original(self, record: Recorded, match: re.Match[str]) -> None:
        del self.messages[self._originals.pop(match.group(2))]

    def _edit_message(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return self._update(int(match.group(3)), record)

    def _follow_up(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return self._message(CHANNEL_ID, record.json or {}, record.files, kind=0)

    def _channel_message(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return self._message(int(match.group(1)), record.json or {}, record.files, kind=0)

    def _edit_channel_message(self, record: Recorded, match: re.Match[str]) -> dict[str, Any]:
        return self._update(int(match.group(2)), record)

    # -- messages --------------------------------------------------------------------
    def _message(
        self, channel_id: int, body: dict[str, Any], files: list[Upload], *, kind: int
    ) -> dict[str, Any]:
        message_id = snowflake()
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": BOT_USER,
            "content": "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": kind,
            "flags": 0,
            "webhook_id": str(APP_ID),
            "application_id": str(APP_ID),
        }
        self.messages[message_id] = message
        self._apply(message, body, files)
        return message

    def _update(self, message_id: int, record: Recorded, *, flags_off: int = 0) -> dict[str, Any]:
        message = self.messages[message_id]
        message["flags"] &= ~flags_off
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        self._apply(message, record.json or {}, record.files)
        return message

    def _apply(self, message: dict[str, Any], body: dict[str, Any], files: list[Upload]) -> None:
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                message[key] = body[key] if body[key] is not None else message[key]
        if files:
            message["attachments"] = [
                self.cdn_file(upload.filename, upload.data, upload.content_type) for upload in files
            ]


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with Discord's exact content type (discord.py compares it verbatim)."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


# ------------------------------------------------------------------------ payloads


class Interactions:
    """Builds INTERACTION_CREATE payloads as Discord sends them."""

    def __init__(self, attachment_size_limit: int = 10 * 2**20) -> None:
        self.attachment_size_limit = attachment_size_limit

    def _base(
        self, kind: int, who: dict[str, Any], *, age: timedelta = timedelta(0), **extra: Any
    ) -> dict[str, Any]:
        member = {
            "user": who,
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": "2147483647",
            "nick": None,
            "avatar": None,
        }
        channel = {
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "images",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        payload = {
            "id": str(snowflake(datetime.now(UTC) - age)),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"interaction-token-{next(_TOKENS)}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": channel,
            "member": member,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "2147483647",
            "attachment_size_limit": self.attachment_size_limit,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
        }
        payload.update(extra)
        return payload

    def slash(
        self,
        name: str,
        who: dict[str, Any],
        options: dict[str, Any] | None = None,
        *,
        sub: str | None = None,
        focused: str | None = None,
        age: timedelta = timedelta(0),
        limit: int | None = None,
    ) -> dict[str, Any]:
        """A slash command (type 2), or its autocomplete (type 4) when `focused` is set.

        Attachment options are given as `cdn_file` payloads.
        """
        built, attachments = _options(options or {}, focused)
        if sub is not None:
            built = [{"name": sub, "type": 1, "options": built}]
        data: dict[str, Any] = {
            "id": str(snowflake()),
            "name": name,
            "type": 1,
            "options": built,
            "guild_id": str(GUILD_ID),
        }
        if attachments:
            data["resolved"] = {"attachments": attachments}
        payload = self._base(4 if focused else 2, who, age=age, data=data)
        if limit is not None:
            payload["attachment_size_limit"] = limit
        return payload

    def press(self, custom_id: str, message: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
        """A button press (type 3) on `message`."""
        data = {"custom_id": custom_id, "component_type": 2}
        return self._base(3, who, data=data, message=message)

    def modal_submit(
        self, custom_id: str, values: dict[str, str], who: dict[str, Any]
    ) -> dict[str, Any]:
        """A submitted modal (type 5): each text field's value, inside its label."""
        components = [
            {"type": 18, "id": number, "component": {"type": 4, "custom_id": key, "value": value}}
            for number, (key, value) in enumerate(values.items(), start=1)
        ]
        return self._base(5, who, data={"custom_id": custom_id, "components": components})

    def message_command(
        self, name: str, message: dict[str, Any], who: dict[str, Any]
    ) -> dict[str, Any]:
        """A message context menu command (type 2, command type 3)."""
        data = {
            "id": str(snowflake()),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
            "guild_id": str(GUILD_ID),
        }
        return self._base(2, who, data=data)


def _options(
    options: dict[str, Any], focused: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    built: list[dict[str, Any]] = []
    attachments: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, dict):
            attachments[value["id"]] = value
            built.append({"name": name, "type": 11, "value": value["id"]})
            continue
        kind = {bool: 5, int: 4, float: 10, str: 3}[type(value)]
        option: dict[str, Any] = {"name": name, "type": kind, "value": value}
        if name == focused:
            option["focused"] = True
        built.append(option)
    return built, attachments
