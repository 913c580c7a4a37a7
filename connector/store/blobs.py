"""Content-addressed blobs (packages, attachments) stored without a second copy in memory.

Python's sqlite3 binds a ``bytes`` parameter as a transient value, which SQLite copies before
the statement runs: storing a 27 MB package held it twice, on top of the request's own copies.
On SQLite a large value is therefore inserted as ``zeroblob(size)`` and then written through
incremental blob I/O (``Connection.blobopen``) in chunks, in the same transaction. PostgreSQL
(and small values) take the plain ``INSERT``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func
from sqlalchemy.dialects import sqlite

from connector.store import statements

STREAMED_BYTES = 1024 * 1024  # values at least this large go in through blob I/O on SQLite
_CHUNK = 1024 * 1024


def insert_ignoring(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """``INSERT ... ON CONFLICT DO NOTHING`` of rows with a ``data`` column (content-addressed:
    a row whose key exists is the same content)."""
    if not rows:
        return
    on_sqlite = conn.dialect.name == "sqlite"
    streamed = [r for r in rows if on_sqlite and len(r["data"]) >= STREAMED_BYTES]
    plain = [r for r in rows if not (on_sqlite and len(r["data"]) >= STREAMED_BYTES)]
    if plain:
        conn.execute(statements.insert_ignoring(conn.dialect.name, table), plain)
    for row in streamed:
        data = memoryview(row["data"])
        statement = sqlite.insert(table).values(**(row | {"data": func.zeroblob(len(data))}))
        result = conn.execute(statement.on_conflict_do_nothing())
        if result.rowcount != 1:
            continue  # stored already
        with conn.connection.dbapi_connection.blobopen(table.name, "data", result.lastrowid) as blob:
            for start in range(0, len(data), _CHUNK):
                blob.write(data[start : start + _CHUNK])
