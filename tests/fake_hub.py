"""A Hugging Face model hub on 127.0.0.1 for tests: local folders served as model repositories.

It answers what `huggingface_hub` (and diffusers and transformers through it) asks for when
it downloads, as the real hub does:

- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}`: model info with the file
  list (`siblings`: sizes, git blob ids, LFS SHA-256) and the commit (`sha`);
- `GET /api/models/{repo}/tree/{rev}[/{path}]` (`recursive`) and
  `POST /api/models/{repo}/paths-info/{rev}`: the file tree;
- `HEAD` and `GET /{repo}/resolve/{rev}/{path}`: `X-Repo-Commit`, `ETag` (the git blob id) and
  `Content-Length`, byte ranges (`Range`, `206`, `Content-Range`); an LFS file (every
  `.safetensors` and anything over 100 kB) answers with a redirect to a second port, the
  "CDN", carrying `X-Linked-Etag` (its SHA-256) and `X-Linked-Size`;
- unknown repositories, revisions and files: `404` with the hub's `X-Error-Code`.

Every request is recorded (method, path, range, whether it carried a token, bytes sent). A
`Gate` stops one file's body part-way: to kill a client in the middle of a file, to cut a
first answer short, or to hold a download while another process starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_THRESHOLD = 100_000
GATE_TIMEOUT = 120.0


@dataclass(frozen=True)
class HubFile:
    """One file of a repository."""

    path: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def blob_id(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def lfs(self) -> bool:
        return self.path.endswith(".safetensors") or self.size > LFS_THRESHOLD


@dataclass
class Repo:
    """A model repository at one commit."""

    id: str
    files: dict[str, HubFile]

    @property
    def commit(self) -> str:
        digest = hashlib.sha1(self.id.encode())
        for path in sorted(self.files):
            digest.update(f"{path}:{self.files[path].blob_id}".encode())
        return digest.hexdigest()

    def folders(self) -> set[str]:
        found = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return found


@dataclass
class Request:
    """One request the hub or its CDN answered."""

    server: str  # "hub" or "cdn"
    method: str
    path: str  # the repository file a resolve or CDN request is for, else the URL path
    range: str | None
    token: bool
    repo: str = ""  # the repository a resolve or CDN request is for
    status: int = 0
    sent: int = 0  # body bytes written


@dataclass
class Gate:
    """Stops the body of one file's first GET after `after` bytes.

    `reached` is set there; with `wait`, the answer waits for `release()`; then it goes on
    (`cut=False`) or the connection is closed (`cut=True`, the client saw a short answer).
    """

    path: str
    after: int
    wait: bool
    cut: bool
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


def repository(repo_id: str, folder: Path, *, variant: str | None = None) -> Repo:
    """A repository of every file under `folder`; with `variant`, each safetensors weights
    file is there twice, plain and as the variant (`model.fp16.safetensors`), as on the hub."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            files[name] = HubFile(name, path.read_bytes())
            if variant and name.endswith(".safetensors"):
                twin = f"{name.removesuffix('.safetensors')}.{variant}.safetensors"
                files[twin] = HubFile(twin, path.read_bytes())
    return Repo(repo_id, files)


class FakeHub:
    """The hub and its CDN, each on its own port of 127.0.0.1."""

    def __init__(self, repos: Mapping[str, Repo]) -> None:
        self.repos = dict(repos)
        self.requests: list[Request] = []
        self.gates: list[Gate] = []
        self._lock = threading.Lock()
        self._hub = _Server(self, "hub")
        self._cdn = _Server(self, "cdn")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def __enter__(self) -> FakeHub:
        for server in (self._hub, self._cdn):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for gate in self.gates:
            gate.release()
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    def gate(self, path: str, *, after: int, wait: bool = False, cut: bool = True) -> Gate:
        """Stop the next GET of the file `path` (of any repository) after `after` bytes."""
        gate = Gate(path, after, wait, cut)
        with self._lock:
            self.gates.append(gate)
        return gate

    def _take_gate(self, path: str) -> Gate | None:
        with self._lock:
            for gate in self.gates:
                if gate.path == path and not gate.reached.is_set():
                    gate.reached.clear()
                    self.gates.remove(gate)
                    return gate
        return None

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def bodies(self, repo: str, path: str) -> list[Request]:
        """The GETs that sent (some of) the body of file `path` of `repo`."""
        return [r for r in self.file_requests() if (r.repo, r.path) == (repo, path)]

    def asked_for(self, repo: str, path: str) -> list[Request]:
        """Every request about file `path` of `repo`."""
        with self._lock:
            return [r for r in self.requests if (r.repo, r.path) == (repo, path)]

    def file_requests(self) -> list[Request]:
        """Every GET that sent (some of) a file's body, in order."""
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.sent > 0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: FakeHub, role: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hub = hub
        self.role = role


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- dispatch
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(part) for part in url.path.split("/") if part]
        query = parse_qs(url.query)
        record = Request(
            self.server.role,
            method,
            url.path,
            self.headers.get("Range"),
            self.headers.get("Authorization") is not None,
        )
        try:
            if self.server.role == "cdn":
                self._cdn(record, query)
            elif parts[:2] == ["api", "models"] and len(parts) >= 4:
                self._api(record, f"{parts[2]}/{parts[3]}", parts[4:], method)
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(record, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
            else:
                self._error(record, 404, "RepoNotFound", "no such page")
        finally:
            self.server.hub.record(record)

    # -- the API
    def _repo(self, record: Request, repo_id: str, revision: str) -> Repo | None:
        repo = self.server.hub.repos.get(repo_id)
        if repo is None:
            self._error(record, 404, "RepoNotFound", f"Repository {repo_id} not found")
            return None
        if revision not in ("main", repo.commit):
            self._error(record, 404, "RevisionNotFound", f"Revision {revision} not found")
            return None
        return repo

    def _api(self, record: Request, repo_id: str, rest: list[str], method: str) -> None:
        kind = rest[0] if rest else "revision"
        revision = rest[1] if len(rest) > 1 else "main"
        repo = self._repo(record, repo_id, revision)
        if repo is None:
            return
        if kind == "revision" and method == "GET":
            self._json(record, _model_info(repo))
        elif kind == "tree" and method == "GET":
            recursive = parse_qs(urlsplit(self.path).query).get("recursive", ["False"])[0]
            self._json(record, _tree(repo, "/".join(rest[2:]), recursive.lower() == "true"))
        elif kind == "paths-info" and method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            self._json(record, _paths_info(repo, form.get("paths", [])))
        else:
            self._error(record, 404, "RepoNotFound", "no such page")

    def _resolve(self, record: Request, repo_id: str, revision: str, path: str) -> None:
        repo = self._repo(record, repo_id, revision)
        if repo is None:
            return
        record.repo, record.path = repo_id, path
        file = repo.files.get(path)
        if file is None:
            self._error(
                record, 404, "EntryNotFound", f"{path} not found", {"X-Repo-Commit": repo.commit}
            )
            return
        if file.lfs:
            query = f"repo={quote(repo_id, safe='')}&path={quote(path, safe='')}"
            location = f"{self.server.hub.cdn_url}/cdn/{file.sha256}?{query}"
            record.status = 302
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{file.blob_id}"')
            self.send_header("X-Linked-Etag", f'"{file.sha256}"')
            self.send_header("X-Linked-Size", str(file.size))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._body(record, file, {"X-Repo-Commit": repo.commit, "ETag": f'"{file.blob_id}"'})

    def _cdn(self, record: Request, query: dict[str, list[str]]) -> None:
        repo_id, path = query.get("repo", [""])[0], query.get("path", [""])[0]
        repo = self.server.hub.repos.get(repo_id)
        file = repo.files.get(path) if repo is not None else None
        if file is None:
            self._error(record, 404, "EntryNotFound", "no such object")
            return
        record.repo, record.path = repo_id, path
        self._body(record, file, {"ETag": f'"{file.sha256}"'})

    # -- answers
    def _body(self, record: Request, file: HubFile, headers: dict[str, str]) -> None:
        start, end = 0, file.size - 1
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start = int(first or 0)
            end = min(int(last), end) if last else end
            if start > end:
                self._error(record, 416, "RangeNotSatisfiable", "range not satisfiable")
                return
            record.status = 206
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
        else:
            record.status = 200
            self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if self.command == "HEAD":
            return
        body = file.data[start : end + 1]
        gate = self.server.hub._take_gate(file.path) if start == 0 else None
        if gate is None:
            self._send(record, body)
            return
        self._send(record, body[: gate.after])
        gate.reached.set()
        if gate.wait:
            gate.released.wait(GATE_TIMEOUT)
        if gate.cut:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client went first
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(record, body[gate.after :])

    def _send(self, record: Request, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client went away
            self.close_connection = True
            return
        record.sent += len(data)

    def _json(self, record: Request, payload: object) -> None:
        body = json.dumps(payload).encode()
        record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(
        self,
        record: Request,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps({"error": message}).encode()
        record.status = status
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _entry(file: HubFile) -> dict[str, object]:
    entry: dict[str, object] = {
        "type": "file",
        "oid": file.blob_id,
        "size": file.size,
        "path": file.path,
    }
    if file.lfs:
        entry["lfs"] = {"oid": file.sha256, "size": file.size, "pointerSize": 134}
    return entry


def _folder(path: str) -> dict[str, object]:
    return {
        "type": "directory",
        "oid": hashlib.sha1(path.encode()).hexdigest(),
        "size": 0,
        "path": path,
    }


def _model_info(repo: Repo) -> dict[str, object]:
    siblings = []
    for file in repo.files.values():
        sibling: dict[str, object] = {
            "rfilename": file.path,
            "size": file.size,
            "blobId": file.blob_id,
        }
        if file.lfs:
            sibling["lfs"] = {"size": file.size, "sha256": file.sha256, "pointerSize": 134}
        siblings.append(sibling)
    return {
        "_id": repo.commit[:24],
        "id": repo.id,
        "modelId": repo.id,
        "sha": repo.commit,
        "private": False,
        "disabled": False,
        "gated": False,
        "library_name": "diffusers",
        "tags": [],
        "lastModified": "2024-01-01T00:00:00.000Z",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "siblings": siblings,
    }


def _tree(repo: Repo, under: str, recursive: bool) -> list[dict[str, object]]:
    prefix = f"{under}/" if under else ""

    def inside(path: str) -> bool:
        if not path.startswith(prefix) or path == under:
            return False
        return recursive or "/" not in path[len(prefix) :]

    folders = [_folder(path) for path in sorted(repo.folders()) if inside(path)]
    files = [_entry(file) for path, file in sorted(repo.files.items()) if inside(path)]
    return folders + files


def _paths_info(repo: Repo, paths: list[str]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    folders = repo.folders()
    for path in paths:
        path = path.strip("/")
        if path in repo.files:
            found.append(_entry(repo.files[path]))
        elif path in folders:
            found.append(_folder(path))
    return found
