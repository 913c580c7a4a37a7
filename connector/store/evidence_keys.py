"""The evidence log's authentication keys: HMAC-SHA256 keys kept in files, outside the database.

The hash chain alone shows a change only to someone who kept an earlier hash: whoever can write
the database can rewrite a record and recompute every hash after it. Each record, the head row and
the signed-head series therefore carry an HMAC under a key the database never sees; an insider
with the database but not this directory cannot produce one (docs/evidence.md, threat model).

The ring is a directory (``evidence_keys_dir``, default ``DATA_DIR/evidence-keys``) of files
``NNNN.key`` (64 hex characters, mode 0600), made on first use. New MACs use the highest number;
older keys stay to check older rows. Rotation adds the next file (``evidence rotate-key``);
a key file is never changed or removed while any row names it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from connector.errors import SimpleError

RECORD_MAC = "evidence-record"  # the MAC purposes: a record's MAC can never pass for a head row's
HEAD_MAC = "evidence-head"


class EvidenceKeyError(SimpleError, ValueError):
    """The key directory cannot be read or written, or a row names a key it does not hold."""


@dataclass(frozen=True)
class Mac:
    """A row's authentication: the key's number and the HMAC, lowercase hex."""

    key_id: int
    value: str


class EvidenceKeys:
    """The key ring: every key by number; ``current`` signs, all of them check."""

    def __init__(self, keys: dict[int, bytes], created: bool = False) -> None:
        if not keys:
            raise EvidenceKeyError("the evidence key ring is empty")
        self._keys = dict(keys)
        self.current = max(keys)
        self.created = created
        """Whether this load made the ring's first key: the one moment records from before the
        keys may be authenticated (``EvidenceLog.seal_legacy``); later, a record without a MAC
        can only mean one was removed."""

    @classmethod
    def load(cls, directory: Path, create: bool = True) -> EvidenceKeys:
        """The ring in ``directory``; its first key is made when there is none and ``create``."""
        if not create and not (directory.is_dir() and _files(directory)):
            raise EvidenceKeyError(f"no evidence keys in {directory} (setting evidence_keys_dir)")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            created = not _files(directory) and _create(directory, 1)
            return cls({number: _read(path) for number, path in _files(directory).items()}, created)
        except OSError as exc:
            raise EvidenceKeyError(f"evidence key directory {directory}: {exc.strerror}") from None

    @staticmethod
    def rotate(directory: Path) -> int:
        """Add the next key; processes pick it up when they start again. Returns its number."""
        try:
            existing = _files(directory)
            number = max(existing, default=0) + 1
            _create(directory, number)
        except OSError as exc:
            raise EvidenceKeyError(f"evidence key directory {directory}: {exc.strerror}") from None
        return number

    def mac(self, purpose: str, *parts: str | int) -> Mac:
        return Mac(self.current, self._compute(self.current, purpose, parts))

    def check(self, mac: Mac | None, purpose: str, *parts: str | int) -> str | None:
        """Why ``mac`` does not authenticate ``parts``, or None when it does."""
        if mac is None or not mac.value:
            return "has no MAC (not written by a connector holding the evidence key)"
        if mac.key_id not in self._keys:
            return f"names evidence key {mac.key_id}, which the key ring does not hold"
        if not hmac.compare_digest(mac.value, self._compute(mac.key_id, purpose, parts)):
            return f"its MAC does not match (evidence key {mac.key_id}): the row was changed or forged"
        return None

    def _compute(self, key_id: int, purpose: str, parts: tuple[str | int, ...]) -> str:
        # The purpose keeps a record's MAC from being replayed as a head's (and so on); the parts
        # are joined with a separator that cannot occur in them (hex, numbers).
        message = "|".join([purpose, *map(str, parts)]).encode("ascii")
        return hmac.new(self._keys[key_id], message, hashlib.sha256).hexdigest()


def _files(directory: Path) -> dict[int, Path]:
    return {int(p.stem): p for p in directory.glob("*.key") if p.stem.isdigit()}


def _create(directory: Path, number: int) -> bool:
    # Written aside, then linked into place: link fails if the name exists, so two processes
    # starting at once never write two keys under one number, and nobody reads a half-written key.
    path = directory / f"{number:04d}.key"
    aside = directory / f".{number:04d}.{os.getpid()}.new"
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        return False  # another process made it first
    finally:
        aside.unlink()
    return True


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise EvidenceKeyError(f"evidence key {path} is not hexadecimal") from None
    if len(key) < 32:
        raise EvidenceKeyError(f"evidence key {path} is shorter than 32 bytes")
    return key
