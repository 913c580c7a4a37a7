"""Operator accounts of the admin console and their sessions (``Store.operators``).

Passwords arrive here already hashed (``connector.admin.auth``); a session is stored as the
SHA-256 of its cookie value, so a copy of the database opens no session.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from connector.store import tables as t
from connector.store.records import AdminSession, Operator, OperatorRole


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _operator(row: Any) -> Operator:
    m = row._mapping
    return Operator(m["name"], m["password_hash"], OperatorRole(m["role"]), _aware(m["created_at"]))


class OperatorStore:
    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[], AbstractContextManager[Connection]],
    ) -> None:
        self._read = read
        self._tx = write

    def save(self, name: str, password_hash: str, role: OperatorRole, now: datetime) -> bool:
        """Create the operator, or replace its password and role; True when it is new."""
        with self._tx() as conn:
            values = {"password_hash": password_hash, "role": role.value}
            if conn.execute(update(t.operators).where(t.operators.c.name == name).values(**values)).rowcount:
                return False
            conn.execute(insert(t.operators).values(name=name, created_at=now, **values))
            return True

    def get(self, name: str) -> Operator | None:
        with self._read() as conn:
            row = conn.execute(select(t.operators).where(t.operators.c.name == name)).first()
        return _operator(row) if row else None

    def all(self) -> list[Operator]:
        with self._read() as conn:
            return [_operator(r) for r in conn.execute(select(t.operators).order_by(t.operators.c.name))]

    def open_session(self, token_sha256: str, name: str, csrf_token: str, expires_at: datetime, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(delete(t.admin_sessions).where(t.admin_sessions.c.expires_at < now))  # sweep
            conn.execute(
                insert(t.admin_sessions).values(
                    token_sha256=token_sha256, operator=name, csrf_token=csrf_token, expires_at=expires_at
                )
            )

    def session(self, token_sha256: str, now: datetime) -> AdminSession | None:
        """The live session of that token, or None (unknown or expired)."""
        with self._read() as conn:
            row = conn.execute(
                select(t.admin_sessions, t.operators)
                .join(t.operators, t.operators.c.name == t.admin_sessions.c.operator)
                .where(t.admin_sessions.c.token_sha256 == token_sha256)
            ).first()
        if row is None or _aware(row.expires_at) <= now:
            return None
        return AdminSession(_operator(row), row.csrf_token, _aware(row.expires_at))

    def close_session(self, token_sha256: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(t.admin_sessions).where(t.admin_sessions.c.token_sha256 == token_sha256))
