"""Persistence: users, quotas, jobs, images, history, audit log, shared state and measured
speeds (SQLAlchemy 2).

`store.Store` is the one object the rest of the bot uses. It opens the database (engine,
migrations) and delegates to one repository per aggregate:

- `users`: people, their platform accounts, settings and bans; link codes and linking
  (merging two users);
- `quotas`: daily limits, extra credits, reservations and refunds;
- `jobs`: job rows and their life, from queued to told;
- `intake`: admitting a job (pause, queue caps, quota and the job row) in one transaction,
  once per source (the update or interaction it came from);
- `inbox`: what platforms delivered, stored before it is acknowledged, until it is handled;
- `images`: result files and rows, prompt history, the admin figures;
- `audit`: the admin audit log;
- `state`: what every frontend shares: the pause and each user's picture for /init;
- `outbox`: messages to users, kept until the platform took them (retries, idempotent keys).
- `speeds`: how fast each device runs each family's tasks, measured as jobs finish.

`db` holds what they share (engine, SQLite pragmas, read and write transactions, statement
helpers, `StoreError`); `tables` the ORM classes, `records` the plain records the store
returns, `migrate` and `migrations` the Alembic set-up and revisions.

May import SQLAlchemy, Alembic and, of ours, only the pure request model
(`generation.request`).
"""
