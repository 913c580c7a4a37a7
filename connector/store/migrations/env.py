"""Alembic environment for the exchange store.

Used two ways: by ``connector.store.migrate`` (which hands over an open connection in
``config.attributes["connection"]``), and by the ``alembic`` command line from the repository
root (``alembic.ini``), where the database is ``-x url=...``, else ``CONNECTOR_DATABASE_URL``, else
the embedded default's SQLite file in ``./data``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from connector.config import load_settings
from connector.store.migrate import comparison_options
from connector.store.tables import metadata


def _run(connection) -> None:  # noqa: ANN001 - an SQLAlchemy Connection
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        **comparison_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or load_settings().effective_database_url


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(_url())
    with engine.begin() as fresh:
        _run(fresh)
    engine.dispose()
