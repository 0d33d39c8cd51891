"""Alembic migrations, run in code (no alembic.ini): `Store.open` calls `upgrade`.

The scripts live in `storage/migrations` inside the package. To write a new revision during
development, something like::

    from alembic import command
    from storage.migrate import alembic_config
    command.revision(alembic_config("sqlite+aiosqlite:///dev.db"), "add x", autogenerate=True)

(the database must be at head first).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import MIGRATION_LOCK

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The async driver used when a URL names only the database kind.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str | URL) -> URL:
    """Parse `url`, giving plain `sqlite://` and `postgresql://` URLs their async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def head_revision() -> str:
    """The newest revision of the packaged scripts: the one no other script revises.

    Read from the scripts' text, so a process whose database is up to date never imports
    Alembic (it costs start-up time).
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in MIGRATIONS.joinpath("versions").glob("v*.py"):
        source = script.read_text(encoding="utf-8")
        found = re.search(r'^revision = "([^"]+)"', source, re.M)
        down = re.search(r'^down_revision = "([^"]+)"', source, re.M)
        if found:
            revisions.add(found.group(1))
        if down:
            revised.add(down.group(1))
    (head,) = revisions - revised
    return head


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if url is not None:
        rendered = async_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _quiet_alembic() -> None:
    """Alembic logs every step at INFO; keep it to warnings unless someone set a level."""
    logger = logging.getLogger("alembic")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade_on(connection: Connection) -> None:
    if _current(connection) == head_revision():
        return
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision, in one transaction (idempotent)."""
    _quiet_alembic()
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade_on)
