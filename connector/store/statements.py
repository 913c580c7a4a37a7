"""Statements built once: SQLAlchemy then reuses their cache keys and compiled forms, and the
values travel as parameters (building a statement per call was a tenth of a request's time)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite


@functools.cache
def lookup(table: Any, column: str) -> Any:
    """``SELECT * FROM table WHERE column = :key``."""
    return select(table).where(table.c[column] == bindparam("key"))


@functools.cache
def insert_into(table: Any) -> Any:
    return insert(table)


@functools.cache
def insert_ignoring(dialect_name: str, table: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` (content-addressed rows: an existing key is the same content)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
