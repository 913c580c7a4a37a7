"""The credentials side of the store: sealed passwords, client-certificate mappings and the
UsernameToken nonces seen recently (shared by every process using the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from connector.store import statements
from connector.store import tables as t
from connector.store.outbox import aware as _aware
from connector.store.records import StoreConflictError
from connector.store.store import Store


@dataclass(frozen=True)
class CertificateMapping:
    sha256: str
    system_id: str
    subject: str
    not_after: datetime
    added_at: datetime


@dataclass(frozen=True)
class CredentialSummary:
    """What ``credentials list`` shows: never a secret."""

    system_id: str
    password_set_at: datetime | None
    certificates: list[CertificateMapping]


class _OncePerMinute:
    """When rows that no longer count are dropped: once a minute, not on every request (two
    threads may both purge at the turn of a minute: harmless)."""

    def __init__(self) -> None:
        self._next = datetime.min.replace(tzinfo=UTC)

    def due(self, now: datetime) -> bool:
        if now < self._next:
            return False
        self._next = now + timedelta(minutes=1)
        return True


class CredentialStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._nonce_purge = _OncePerMinute()
        self._failure_purge = _OncePerMinute()

    def set_password(self, system_id: str, sealed: bytes, now: datetime) -> None:
        with self._store._tx() as conn:
            self._store._upsert(
                conn, t.credentials, [{"system_id": system_id, "sealed_password": sealed, "updated_at": now}]
            )

    def sealed_password(self, system_id: str) -> bytes | None:
        row = self._store._one(t.credentials, t.credentials.c.system_id, system_id)
        return bytes(row.sealed_password) if row else None

    def set_partner_secret(self, system_id: str, sealed: bytes, now: datetime) -> None:
        """The connector's own secret at a partner (an OAuth2 client secret, the axis key)."""
        with self._store._tx() as conn:
            self._store._upsert(
                conn, t.partner_secrets, [{"system_id": system_id, "sealed_secret": sealed, "updated_at": now}]
            )

    def sealed_partner_secret(self, system_id: str) -> bytes | None:
        row = self._store._one(t.partner_secrets, t.partner_secrets.c.system_id, system_id)
        return bytes(row.sealed_secret) if row else None

    def map_certificate(self, mapping: CertificateMapping) -> None:
        with self._store._tx() as conn:
            self._store._upsert(conn, t.client_certificates, [mapping.__dict__])

    def system_for_certificate(self, sha256: str) -> CertificateMapping | None:
        row = self._store._one(t.client_certificates, t.client_certificates.c.sha256, sha256)
        return _mapping(row) if row else None

    def revoke(self, system_id: str) -> int:
        """Remove the system's password and certificate mappings; returns how many were removed."""
        with self._store._tx() as conn:
            removed = conn.execute(delete(t.credentials).where(t.credentials.c.system_id == system_id)).rowcount
            removed += conn.execute(
                delete(t.client_certificates).where(t.client_certificates.c.system_id == system_id)
            ).rowcount
        return removed

    def summaries(self) -> list[CredentialSummary]:
        with self._store._read() as conn:
            passwords = {r.system_id: _aware(r.updated_at) for r in conn.execute(select(t.credentials))}
            certificates = [_mapping(r) for r in conn.execute(select(t.client_certificates))]
        systems = sorted(set(passwords) | {c.system_id for c in certificates})
        return [CredentialSummary(s, passwords.get(s), [c for c in certificates if c.system_id == s]) for s in systems]

    def use_nonce(self, nonce: str, username: str, now: datetime, forget_before: datetime) -> bool:
        """Record a nonce; False if it was seen already (a replay). Nonces older than
        ``forget_before`` are dropped, once a minute: their Created time is outside the window
        anyway, so keeping them a little longer changes no answer."""
        purge = self._nonce_purge.due(now)
        try:
            with self._store._tx() as conn:
                if purge:
                    conn.execute(delete(t.auth_nonces).where(t.auth_nonces.c.seen_at < forget_before))
                conn.execute(
                    statements.insert_into(t.auth_nonces), {"nonce": nonce, "username": username, "seen_at": now}
                )
        except StoreConflictError:
            return False
        return True

    def record_failures(self, keys: list[str], at: datetime, forget_before: datetime) -> None:
        """Failed attempts under ``keys`` (the client address, the usernames tried). Failures
        older than ``forget_before`` are dropped, once a minute (they no longer count)."""
        purge = self._failure_purge.due(at)
        with self._store._tx() as conn:
            if purge:
                conn.execute(delete(t.auth_failures).where(t.auth_failures.c.failed_at < forget_before))
            conn.execute(statements.insert_into(t.auth_failures), [{"key": key[:300], "failed_at": at} for key in keys])

    def failure_counts(self, since: datetime, at_least: int) -> dict[str, tuple[int, datetime]]:
        """The keys with at least ``at_least`` failures since ``since``, recorded by any process:
        how many, and when the last one was."""
        f = t.auth_failures
        query = (
            select(f.c.key, func.count(), func.max(f.c.failed_at))
            .where(f.c.failed_at >= since)
            .group_by(f.c.key)
            .having(func.count() >= at_least)
        )
        with self._store._read() as conn:
            return {key: (count, _aware(last)) for key, count, last in conn.execute(query)}


def _mapping(row: object) -> CertificateMapping:
    m = row._mapping  # type: ignore[attr-defined]
    return CertificateMapping(m["sha256"], m["system_id"], m["subject"], _aware(m["not_after"]), _aware(m["added_at"]))
