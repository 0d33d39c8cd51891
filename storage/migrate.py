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
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import MIGRATION_LOCK

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The async driver used when a URL names only the database kind.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str | URL) -> URL:
    """Parse `url`, giving plain `sqlite://` and `postgresql://` URLs their async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
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


def _upgrade_on(connection: Connection) -> None:
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
