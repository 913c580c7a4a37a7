"""Exchanges found by what an operator types (issue 24): ``search_text``, the searched columns
folded (applicant without diacritics, Số ký hiệu, dossier code and number, DocumentId, message id,
organisations), filled here for every existing exchange; indexed by a pg_trgm GIN index on
PostgreSQL and an FTS5 trigram table on SQLite (``connector/store/search.py``). Where neither
can be made (no pg_trgm; SQLite without the trigram tokenizer), searches still work, by scanning,
and the log says so. And an index on (created_at, exchange_id): the console's list order.

Revision ID: 0011
Revises: 0010
"""

import logging

import sqlalchemy as sa
from alembic import op

from connector.store.search import FTS_TABLE, SEARCHED, create_sqlite_index, index_rows, search_text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger("connector.store.migrate")
CHUNK = 1000  # rows per UPDATE batch
_exchanges = sa.table("exchanges", sa.column("search_text"), *(sa.column(name) for name in SEARCHED))


def upgrade() -> None:
    op.add_column("exchanges", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_exchanges_created", "exchanges", ["created_at", "exchange_id"])
    conn = op.get_bind()
    rows = [dict(r) for r in conn.execute(sa.select(*(_exchanges.c[n] for n in SEARCHED))).mappings()]
    filled = [{"id": r["exchange_id"], "text": search_text(r)} for r in rows]
    statement = (
        sa.update(_exchanges)
        .where(_exchanges.c.exchange_id == sa.bindparam("id"))
        .values(search_text=sa.bindparam("text"))
    )
    for start in range(0, len(filled), CHUNK):
        conn.execute(statement, filled[start : start + CHUNK])
    if conn.dialect.name == "postgresql":
        _postgresql_index(conn)
    elif create_sqlite_index(conn):
        index_rows(conn, [{"exchange_id": r["id"], "search_text": r["text"]} for r in filled])
    else:
        log.warning("this SQLite has no FTS5 trigram tokenizer (3.34 or later): exchange searches will scan")


def _postgresql_index(conn: sa.Connection) -> None:
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:  # not installed, or this role may not create it
        log.warning("pg_trgm cannot be created (%s): exchange searches will scan", " ".join(str(exc.orig).split()))
        return
    op.create_index(
        "ix_exchanges_search_trgm",
        "exchanges",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_exchanges_search_trgm")
    else:
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    op.drop_index("ix_exchanges_created", "exchanges")
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("search_text")
