"""Operator passwords and console sessions.

Passwords are hashed with argon2id (``argon2-cffi``, its default parameters). A session is a
random cookie value whose SHA-256 is stored with the operator, a CSRF token and an expiry;
every state-changing form carries the session's CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connector.auth.admin import MIN_PASSWORD_LENGTH  # one minimum for systems and operators
from connector.errors import SimpleError
from connector.store import AdminSession, Operator, OperatorRole, Store

_HASHER = PasswordHasher()


class PasswordRefusedError(SimpleError, ValueError):
    """A password too weak to store."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefusedError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def add_operator(store: Store, name: str, password: str, role: OperatorRole, now: datetime) -> bool:
    """Create the operator (or replace its password and role); True when it is new."""
    return store.operators.save(name, hash_password(password), role, now)


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _HASHER.hash(secrets.token_hex(16))


def check_password(store: Store, name: str, password: str) -> Operator | None:
    operator = store.operators.get(name)
    try:
        _HASHER.verify(operator.password_hash if operator else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return operator


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    cookie: str
    """The cookie's value (given to the browser only)."""
    csrf_token: str


def open_session(store: Store, operator: Operator, now: datetime, lifetime: timedelta) -> NewSession:
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.operators.open_session(token_digest(cookie), operator.name, csrf, now + lifetime, now)
    return NewSession(cookie, csrf)


def session_of(store: Store, cookie: str | None, now: datetime) -> AdminSession | None:
    return store.operators.session(token_digest(cookie), now) if cookie else None


def csrf_ok(session: AdminSession, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(session.csrf_token, submitted)
