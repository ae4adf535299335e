"""Alembic's environment for the read model: always run through activities.migrations, which
hands it an open connection inside the transaction that holds the migration lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from activities.migrations import configure_context

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run the read model's migrations with `enroll db upgrade` (activities.migrations), "
        "not the alembic command"
    )
configure_context(connection)
with context.begin_transaction():
    context.run_migrations()
