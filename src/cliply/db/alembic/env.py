"""Alembic environment: the URL comes from the caller (cliply.db.migrate) or settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from cliply.models import Base

config = context.config
target_metadata = Base.metadata
# Migrations import no Cliply code; deployment values they need are handed over here.
if "app_role" not in config.attributes:
    from cliply.config import get_settings

    config.attributes["app_role"] = get_settings().database_app_role


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from cliply.db.engine import database_url

        url = database_url()
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            # Serialise concurrent `db upgrade` runs (several processes starting at once).
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7263541)")
            context.run_migrations()


run_migrations_online()
