"""Persistence of users, quotas, jobs, images and history (SQLAlchemy)."""
