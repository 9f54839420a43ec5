"""Alembic environment for the snapshot store: migrates ``ingestor.store.models.metadata``.

``ingestor.store.migrate`` passes its own locked connection in ``config.attributes["connection"]``;
the ``alembic`` command line builds one from ``-x url=...`` or ``INGESTOR__database__url``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from ingestor.store.db import Database, masked, normalize_url
from ingestor.store.models import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or next((v for k, v in os.environ.items() if k.upper() == "INGESTOR__DATABASE__URL"), None)
    if not url:
        raise SystemExit("give the database with `alembic -x url=...` or INGESTOR__database__url")
    return url


def run_offline() -> None:
    url = normalize_url(_url())
    context.configure(url=url, target_metadata=metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    db = Database(_url(), pool_size=1)
    print(f"database: {masked(db.url)}")
    try:
        with db.write() as connection:
            _configure(connection)
            context.run_migrations()
    finally:
        db.close()


if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
