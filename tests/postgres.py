"""Pytest plugin: a private PostgreSQL server for the test session, and database fixtures.

`postgres_url` starts one server per session from Debian's binaries
(`/usr/lib/postgresql/*/bin`, installed by `scripts/ensure-postgres.sh`) in a temporary
folder: unix socket only, `fsync=off`, trust authentication. As root (CI), `initdb` and
`postgres` run as the `postgres` OS user through `runuser`, since both refuse root.

`db_url` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database.
`store` opens a `Store` on it with a temporary data folder; `stores` opens two, as two
frontend processes do.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.store import Store
from tests.botkit import stop_senders

_SERVER_OPTIONS = (
    "-c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=32MB -c max_wal_size=1GB "
    "-c log_min_messages=warning"
)
# Free space wanted on /dev/shm before the server goes there (a cluster is about 40 MB).
_SHM_NEEDED = 1 << 30


@dataclass(frozen=True)
class _Server:
    bindir: Path
    folder: Path
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def command(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bindir / tool), *args]
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self.command(tool, *args), capture_output=True, text=True)
        if done.returncode:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            pytest.fail(
                f"PostgreSQL {tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}",
                pytrace=False,
            )


def find_postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries folder, or None when not installed."""

    def version(folder: Path) -> tuple[int, ...]:
        name = folder.parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if found:
        return max(found, key=version)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _start(folder: Path) -> _Server:
    bindir = find_postgres_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, postgres) not found under "
            "/usr/lib/postgresql/*/bin: run scripts/ensure-postgres.sh "
            "(apt-get install postgresql) first",
            pytrace=False,
        )
    run_as = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                "running as root but there is no 'postgres' user to run the server as",
                pytrace=False,
            )
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = "postgres"
    server = _Server(bindir, folder, run_as)
    server.run(
        "initdb",
        "--pgdata",
        str(server.data),
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    )
    server.run(
        "pg_ctl",
        "start",
        "--wait",
        "--silent",
        "--pgdata",
        str(server.data),
        "--log",
        str(server.log),
        "-o",
        f"-k {folder} {_SERVER_OPTIONS}",
    )
    return server


def _stop(server: _Server) -> None:
    subprocess.run(
        server.command("pg_ctl", "stop", "--pgdata", str(server.data), "-m", "immediate", "-s"),
        capture_output=True,
        check=False,
    )
    shutil.rmtree(server.folder, ignore_errors=True)


def _server_parent() -> str | None:
    """A RAM-backed folder for the server when there is room (much faster), else the default."""
    shm = Path("/dev/shm")
    try:
        usage = shutil.disk_usage(shm)
    except OSError:
        return None
    if os.access(shm, os.W_OK | os.X_OK) and usage.free >= _SHM_NEEDED:
        return str(shm)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An URL (asyncpg) of database `kbot` on a private PostgreSQL server for this session."""
    # Not under pytest's tmp folder: that one is private to this user, and the server may
    # run as another.
    folder = Path(tempfile.mkdtemp(prefix="kbot-pg-", dir=_server_parent()))
    try:
        server = _start(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        server.run("createdb", "--host", str(folder), "--username=postgres", "kbot")
        yield f"postgresql+asyncpg://postgres@/kbot?host={folder}"
    finally:
        _stop(server)


_numbers = itertools.count(1)


def _admin(server_url: str, action: str, name: str) -> None:
    """CREATE or DROP database `name` on the server of `server_url`."""
    import psycopg
    from psycopg import sql

    url = make_url(server_url)
    host = str(url.query["host"])
    with psycopg.connect(host=host, user=url.username, dbname=url.database, autocommit=True) as db:
        version = db.info.server_version
        if action == "create":
            # FILE_COPY (PostgreSQL 15+) is the fastest way with fsync off.
            query = (
                "CREATE DATABASE {} STRATEGY = FILE_COPY"
                if version >= 150000
                else "CREATE DATABASE {}"
            )
        else:
            # FORCE (13+) also ends connections a test left open.
            query = "DROP DATABASE {} WITH (FORCE)" if version >= 130000 else "DROP DATABASE {}"
        db.execute(sql.SQL(query).format(sql.Identifier(name)))


def fresh_postgres_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`; return its URL."""
    name = f"t_{os.getpid()}_{next(_numbers)}"
    _admin(server_url, "create", name)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, then a new database on the private server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kbot.db'}"
        return
    server_url = request.getfixturevalue("postgres_url")
    url = fresh_postgres_database(server_url)
    yield url
    # Keep the server small: drop it (and any connection a test left open).
    _admin(server_url, "drop", str(make_url(url).database))


@pytest.fixture
async def store(db_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    """A store on `db_url` with its images under a temporary folder."""
    opened = await Store.open(db_url, tmp_path / "data")
    try:
        yield opened
    finally:
        await stop_senders(opened)
        await opened.close()


@pytest.fixture
async def stores(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on `db_url`, as two frontend processes have, sharing one data folder."""
    first = await Store.open(db_url, tmp_path / "data")
    try:
        second = await Store.open(db_url, tmp_path / "data")
        try:
            yield first, second
        finally:
            await stop_senders(second)
            await second.close()
    finally:
        await stop_senders(first)
        await first.close()
