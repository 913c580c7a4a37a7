"""The evidence hash chain's arithmetic, shared by the connector (which writes it) and the
bundle verifier (which auditors run without the connector).

A record's *content* is canonical JSON (sorted keys, no spaces, UTF-8). Its links:
``content_sha256 = SHA-256(content)`` and ``record_sha256 = SHA-256(prev_sha256 + content_sha256)``
over the two lowercase hex strings, ASCII; the first record's ``prev_sha256`` is ``GENESIS``.
By hand: ``printf '%s%s' PREV CONTENT_SHA256 | sha256sum``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64
"""The ``prev_sha256`` of the first record."""


def canonical_json(value: object) -> bytes:
    """The exact bytes hashed for a record's content."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def link_hash(prev_sha256: str, content_sha256: str) -> str:
    """A record's own hash: it binds the record's content to everything before it."""
    return sha256_hex(f"{prev_sha256}{content_sha256}".encode("ascii"))


@dataclass(frozen=True)
class ChainLink:
    """One record as the chain sees it (the content may be withheld: its hash is enough)."""

    seq: int
    content_sha256: str
    prev_sha256: str
    record_sha256: str

    def line(self) -> str:
        """As in a bundle's ``evidence/chain.txt``."""
        return f"{self.seq} {self.content_sha256} {self.prev_sha256} {self.record_sha256}"

    @classmethod
    def parse(cls, line: str) -> ChainLink:
        seq, content, prev, record = line.split()
        return cls(int(seq), content, prev, record)


ORIGIN = ChainLink(0, GENESIS, GENESIS, GENESIS)
"""What record 1 follows: an empty chain, whose head hash is ``GENESIS``."""


def first_break(records: Iterable[tuple[ChainLink, bytes | None]], previous: ChainLink | None = None) -> str | None:
    """Why the chain is broken at its first bad link, or None when every link holds.

    ``records`` are links in sequence order, each with its content when known. Checks, in order
    per record: consecutive sequence numbers (a deleted record leaves a gap), the content's hash
    (when the content is given), the link to the previous record, the record's own hash.
    ``previous``: what the first record must follow (``ORIGIN`` for a whole chain); None takes
    the first record's ``prev_sha256`` as given (a bundle's path to its signed head)."""
    for current, content in records:
        where = f"record {current.seq}"
        if previous is not None and current.seq != previous.seq + 1:
            return f"{where}: follows record {previous.seq} (records {previous.seq + 1}..{current.seq - 1} missing)"
        if content is not None and sha256_hex(content) != current.content_sha256:
            return f"{where}: its content does not hash to its content_sha256 (the content was changed)"
        if previous is not None and current.prev_sha256 != previous.record_sha256:
            return f"{where}: prev_sha256 does not match record {previous.seq}'s record_sha256"
        if link_hash(current.prev_sha256, current.content_sha256) != current.record_sha256:
            return f"{where}: record_sha256 is not SHA-256(prev_sha256 + content_sha256)"
        previous = current
    return None
