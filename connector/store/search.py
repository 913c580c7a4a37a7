"""Finding exchanges by what an operator types (the console's search, ``Store.search_exchanges``).

Each exchange keeps ``search_text``: its searched columns folded (``connector.exchange.folding``)
and joined by newlines, written with the row (and by migration 0011 for older rows). A search
folds the operator's text the same way and looks for it as a substring of ``search_text``. What
makes that fast at 100,000 exchanges (docs/performance.md):

- PostgreSQL: a trigram GIN index on ``search_text`` (``pg_trgm``), which serves ``LIKE '%…%'``.
  Where the extension cannot be created, migration 0011 leaves the index out and says so in the
  log; searches then scan (docs/operations.md).
- SQLite: an FTS5 table with the trigram tokenizer, ``exchanges_search`` (SQLite 3.34 or later),
  holding each exchange's ``search_text`` and id, written in the exchange's transaction. It is
  asked for the folded text as a phrase (``MATCH '"..."'``: consecutive trigrams, a substring),
  which reads only its index (a ``LIKE`` on it reads every candidate's text too: 10 times
  slower for a common surname); the escaped ``LIKE`` on ``exchanges.search_text`` stays the one
  definition of a match. A text under three characters has no trigram: it scans ``exchanges``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, column, insert, literal_column, select, table, text, update
from sqlalchemy.exc import OperationalError

from connector.exchange.folding import fold
from connector.store import tables as t

SEARCHED = (
    "applicant",
    "document_code",  # Số ký hiệu: the package's Code, "number/notation" (e.g. 123/QĐ-UBND)
    "result_code",  # the Số ký hiệu the result was issued under (publishResult; refolded then)
    "dossier_code",
    "onestop_number",
    "document_id",
    "exchange_id",
    "source_organ",
    "agency_organ",
)
TRGM_INDEX = "ix_exchanges_search_trgm"  # PostgreSQL only (tables.py)
FTS_TABLE = "exchanges_search"  # SQLite only
FTS = table(FTS_TABLE, column("search_text"), column("exchange_id"))
TRIGRAM = 3  # characters: shorter texts have no trigram to look up


def search_text(values: Mapping[str, Any]) -> str:
    """An exchange's ``search_text`` from its column values (a row's mapping or ``columns()``)."""
    return "\n".join(fold(values[name]) for name in SEARCHED if values.get(name))


def compared(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for comparing a database with ``tables.metadata``: leaves
    out the search index of the other backend, and SQLite's FTS5 table with its shadow tables
    (made by migration 0011; ``tables.metadata`` cannot hold a virtual table)."""

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:  # noqa: ARG001 - Alembic's signature
        if type_ == "table":
            return not (name or "").startswith(FTS_TABLE)
        return not (type_ == "index" and name == TRGM_INDEX and dialect != "postgresql")

    return include_object


def create_sqlite_index(conn: Connection) -> bool:
    """The FTS5 table, if this SQLite has the trigram tokenizer; False if it has not."""
    try:
        with conn.begin_nested():
            columns = "search_text, exchange_id UNINDEXED, tokenize='trigram'"
            conn.execute(text(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({columns})"))
    except OperationalError:  # no FTS5, or no trigram tokenizer (SQLite before 3.34)
        return False
    return True


def has_sqlite_index(conn: Connection) -> bool:
    found = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": FTS_TABLE})
    return found.first() is not None


def reindex_row(conn: Connection, exchange_id: str, folded: str) -> None:
    """Replace an exchange's text in the SQLite FTS5 table (after publishResult added its code)."""
    conn.execute(update(FTS).where(FTS.c.exchange_id == exchange_id).values(search_text=folded))


def index_rows(conn: Connection, rows: list[dict[str, str]]) -> None:
    """Add exchanges to the SQLite FTS5 table: ``{"exchange_id", "search_text"}`` each."""
    if rows:
        conn.execute(insert(FTS), rows)


def text_filter(typed: str, fts: bool) -> Any | None:
    """The condition for an operator's text (None when it folds to nothing): a substring of
    ``search_text``; ``fts``: narrowed first through the SQLite FTS5 table."""
    folded = fold(typed)
    if not folded:
        return None
    # "/" escapes: a backslash would need doubling differently on each backend.
    literal = folded.replace("/", "//").replace("%", "/%").replace("_", "/_")
    exact = t.exchanges.c.search_text.like(f"%{literal}%", escape="/")
    if not fts or len(folded) < TRIGRAM:
        return exact
    phrase = '"' + folded.replace('"', '""') + '"'  # everything inside an FTS5 string is literal
    candidates = select(FTS.c.exchange_id).where(literal_column(FTS_TABLE).op("MATCH")(phrase))
    return t.exchanges.c.exchange_id.in_(candidates) & exact
