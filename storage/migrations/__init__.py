"""Alembic migration environment and revisions (run by `storage.migrate.upgrade`)."""
