"""Checking the evidence log as stored: every record, the head row, the signed-head rows.

What is checked, record by record from 1 (the first failure is named, ``record N: ...``):
consecutive numbers, the content's hash, the link to the previous record, the record's own
hash, that the columns beside the content (``at``, ``kind``, ``exchange_id``, ``actor``) say what
the content says, and the record's MAC under the evidence key. Then the head row (it must name
the last record, under a valid MAC), then the signed heads (``head N: ...``): each names a
record as it is, numbers follow 1, 2, 3... each naming the previous one's hash, and each head has
its note record and each note its head. Then the state the console and ``exchange show``
present (``exchange N: ...``): each exchange row's columns fixed at creation, its result and its
state against the records that set them, and its timeline against its event records (the
delivery worker's bulk "waiting" notes, written for a whole backlog in one statement, are the
one kind of timeline event not recorded). Signatures of the heads are checked by the evidence
package (``connector.evidence.audit``), which holds the connector's certificate.

Records written before migration 0007 carry no MAC until the connector's first start after the
upgrade authenticates them (``EvidenceLog.seal_legacy``); until then they are reported as
unauthenticated legacy records, and only as a leading run: a record without a MAC after one with
a MAC is a break.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from connector.store.evidence_facts import event_row_data, exchange_facts, result_facts, utc_iso
from connector.store.evidence_keys import HEAD_MAC, RECORD_MAC, EvidenceKeys, Mac
from connector.store.records import SignedHead
from signing import GENESIS, ORIGIN, ChainLink, first_break, sha256_hex

HEAD_SIGNED = "head signed"
"""The ``action`` of the operator record that notes a signed head, in its transaction."""
LEGACY_SEALED = "legacy records authenticated"
"""The ``action`` of the record that ends the run of records authenticated at the upgrade."""
_BATCH = 1000  # records read per query


class StoredLog(Protocol):
    """What checking reads (``EvidenceLog``)."""

    def rows(self, since: int, until: int) -> list[Any]: ...
    def exchange_rows(self) -> Iterator[Mapping[str, Any]]: ...
    def event_rows(self) -> Iterator[Mapping[str, Any]]: ...
    def head_row(self) -> tuple[int, str, int | None, str | None]: ...
    def signed_heads(self, limit: int | None = None) -> list[SignedHead]: ...


@dataclass
class ChainVerdict:
    """The outcome: ``broken`` names the first bad record, the head row or the first bad head."""

    records: int
    head_seq: int
    head_sha256: str
    broken: str | None = None
    signed_heads_checked: int = 0
    authenticated: bool = False
    """Whether MACs were checked (a key ring was given)."""
    unauthenticated_legacy: int = 0
    """Records from before migration 0007 not authenticated yet (a leading run)."""
    sealed_legacy: tuple[int, str] | None = None
    """Records authenticated at the upgrade: through which record, and when."""
    uncovered: tuple[int, int] | None = None
    """Records after the newest signed head (first, last), not yet covered by one."""
    heads: list[SignedHead] = field(default_factory=list)
    """The signed heads, oldest first (their signatures are the caller's to check)."""


def _content(row: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(row.content)
        return value if isinstance(value, dict) else None
    except ValueError:
        return None


def _columns_differ(row: Any, content: dict[str, Any]) -> str | None:
    """Which column says something other than the hashed content."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    try:
        stated_at = datetime.fromisoformat(content["at"])
    except (KeyError, TypeError, ValueError):
        return "its content has no readable 'at'"
    for name, column, stated in (
        ("seq", row.seq, content.get("seq")),
        ("at", at, stated_at),
        ("kind", row.kind, content.get("kind")),
        ("exchange_id", row.exchange_id, content.get("exchange_id")),
        ("actor", row.actor, content.get("actor")),
    ):
        if column != stated:
            return f"column {name} ({column!s}) differs from its hashed content ({stated!s})"
    return None


def _batches(log: StoredLog) -> Iterator[Any]:
    since = 1
    while True:
        batch = log.rows(since, since + _BATCH - 1)
        yield from batch
        if len(batch) < _BATCH:
            return
        since += _BATCH


def check_chain(log: StoredLog, keys: EvidenceKeys | None) -> ChainVerdict:
    """See the module doc."""
    seq, sha, mac_key, mac = log.head_row()
    verdict = ChainVerdict(0, seq, sha, authenticated=keys is not None)
    previous, macs_seen = ORIGIN, False
    notes: dict[int, tuple[int, dict[str, Any]]] = {}  # head number -> (its note's seq, the note)
    hashes: dict[int, str] = {}
    told: dict[str, _Told] = {}  # what the records say of each exchange
    for row in _batches(log):
        link = ChainLink(row.seq, row.content_sha256, row.prev_sha256, row.record_sha256)
        where = f"record {row.seq}"
        content = _content(row)
        broken = first_break([(link, row.content.encode("utf-8"))], previous)
        if broken is None and content is None:
            broken = f"{where}: its content is not a JSON object"
        if broken is None:
            broken = _prefixed(where, _columns_differ(row, content))  # type: ignore[arg-type]
        if broken is None and keys is not None:
            if row.mac is None and not macs_seen:
                verdict.unauthenticated_legacy += 1
            else:
                macs_seen = True
                broken = _prefixed(
                    where, keys.check(_mac(row.mac_key, row.mac), RECORD_MAC, row.seq, row.record_sha256)
                )
        if broken:
            verdict.broken = broken
            return verdict
        data = content.get("data") if isinstance(content, dict) else None  # type: ignore[union-attr]
        if content.get("kind") == "operator" and isinstance(data, dict):  # type: ignore[union-attr]
            if data.get("action") == HEAD_SIGNED:
                notes[int(data["number"])] = (row.seq, data)
            elif data.get("action") == LEGACY_SEALED:
                verdict.sealed_legacy = (int(data["through"]), content["at"])  # type: ignore[index]
        if content.get("kind") == "event" and isinstance(data, dict) and content.get("exchange_id"):  # type: ignore[union-attr]
            told.setdefault(content["exchange_id"], _Told()).add(row.seq, data)  # type: ignore[index]
        hashes[row.seq] = row.record_sha256
        previous = link
    verdict.records = previous.seq
    verdict.broken = _head_row(verdict, previous, keys, _mac(mac_key, mac), macs_seen)
    if verdict.broken is None:
        verdict.heads = list(reversed(log.signed_heads()))
        verdict.broken = _signed_heads(verdict.heads, hashes, notes)
        verdict.signed_heads_checked = len(verdict.heads)
    if verdict.broken is None:
        verdict.broken = _state(log, told)
    numbered = [h for h in verdict.heads if h.number is not None]
    covered = (numbered[-1].noted_seq or numbered[-1].seq) if numbered else 0
    if previous.seq > covered:
        verdict.uncovered = (covered + 1, previous.seq)
    return verdict


def _prefixed(where: str, reason: str | None) -> str | None:
    return f"{where}: {reason}" if reason else None


def _mac(key_id: int | None, value: str | None) -> Mac | None:
    return Mac(key_id, value) if key_id is not None and value else None


def _head_row(
    verdict: ChainVerdict, last: ChainLink, keys: EvidenceKeys | None, mac: Mac | None, macs_seen: bool
) -> str | None:
    if (last.seq, last.record_sha256) != (verdict.head_seq, verdict.head_sha256):
        return (
            f"head: the head row says record {verdict.head_seq} ({verdict.head_sha256[:12]}...), "
            f"the chain ends at record {last.seq} ({last.record_sha256[:12]}...)"
        )
    if keys is not None and (macs_seen or mac is not None):
        return _prefixed("head row", keys.check(mac, HEAD_MAC, verdict.head_seq, verdict.head_sha256))
    return None


def _signed_heads(
    heads: list[SignedHead], hashes: dict[int, str], notes: dict[int, tuple[int, dict[str, Any]]]
) -> str | None:
    expected_number, prev_sha = 1, GENESIS
    for head in heads:
        name = f"head {head.number}" if head.number is not None else f"legacy signed head {head.head_id}"
        if hashes.get(head.seq) != head.record_sha256:
            return f"{name}: names record {head.seq} as {head.record_sha256[:12]}..., the chain differs there"
        if head.number is None:
            continue
        if head.number != expected_number:
            missing = f"head {expected_number}" if head.number == expected_number + 1 else "heads"
            return f"{name}: {missing} {'' if missing == 'heads' else 'is '}missing before it"
        if head.prev_head_sha256 != prev_sha:
            return f"{name}: does not name the previous head's SHA-256"
        reason = _noted(head, notes.pop(head.number, None))
        if reason:
            return f"{name}: {reason}"
        expected_number, prev_sha = head.number + 1, sha256_hex(head.signed_xml)
    if notes:
        number, (seq, _) = min(notes.items())
        return f"head {number}: noted in record {seq} but missing from the signed heads (deleted)"
    return None


def _noted(head: SignedHead, note: tuple[int, dict[str, Any]] | None) -> str | None:
    if note is None:
        return "no evidence record notes it (a head the connector did not make)"
    seq, data = note
    if seq != head.noted_seq or data.get("head_sha256") != sha256_hex(head.signed_xml):
        return f"differs from its note, record {seq}"
    if (data.get("seq"), data.get("record_sha256")) != (head.seq, head.record_sha256):
        return f"differs from its note, record {seq}"
    return None


@dataclass
class _Told:
    """What an exchange's event records say: its creation facts, its result, its events."""

    facts: tuple[int, dict[str, Any]] | None = None
    result: tuple[int, dict[str, Any]] | None = None
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    created: bool = False  # its creation is recorded (not an exchange from before the log)

    def add(self, seq: int, data: dict[str, Any]) -> None:
        if not self.events and data.get("from") is None:
            self.created = True
        if isinstance(data.get("exchange"), dict):
            self.facts = (seq, data["exchange"])
        if isinstance(data.get("result"), dict):
            self.result = (seq, data["result"])
        if isinstance(data.get("event"), dict):
            event = dict(data["event"])
            with contextlib.suppress(KeyError, TypeError, ValueError):  # else compared as it is, and differs
                event["at"] = utc_iso(datetime.fromisoformat(event["at"]))
            self.events.append((seq, event))


def _state(log: StoredLog, told: dict[str, _Told]) -> str | None:
    """The exchange rows and their timelines against the records (see the module doc)."""
    for row in log.exchange_rows():
        said = told.get(row["exchange_id"])
        if said is None or not said.created:
            continue
        where = f"exchange {row['exchange_id']}"
        checks: list[tuple[tuple[int, dict[str, Any]] | None, Callable[[Mapping[str, Any]], dict[str, Any]]]] = [
            (said.facts, exchange_facts),
            (said.result, result_facts),
        ]
        for recorded, facts_of in checks:
            if recorded is None:
                continue
            seq, expected = recorded
            actual = facts_of(row)
            for name in sorted(set(expected) | set(actual)):
                if actual.get(name) != expected.get(name):
                    return f"{where}: column {name} ({actual.get(name)}) differs from evidence record {seq}"
        if said.result is None and row["result_code"] is not None:
            return f"{where}: its result columns are set, but no evidence record sets them"
        if said.events and row["state"] != said.events[-1][1].get("state"):
            seq = said.events[-1][0]
            return f"{where}: column state ({row['state']}) differs from evidence record {seq}"
    timelines: dict[str, list[dict[str, Any]]] = {}
    for row in log.event_rows():
        timelines.setdefault(row["exchange_id"], []).append(event_row_data(row))
    for exchange_id, said in told.items():
        if said.created:
            reason = _timeline(timelines.get(exchange_id, []), said.events)
            if reason:
                return f"exchange {exchange_id}: {reason}"
    return None


def _timeline(shown: list[dict[str, Any]], recorded: list[tuple[int, dict[str, Any]]]) -> str | None:
    """Every recorded event in the timeline, in order; anything else only a connector's note."""
    pending = list(recorded)
    for event in shown:
        if pending and event == pending[0][1]:
            pending.pop(0)
        elif not (event["actor"] == "connector" and event["status_code"] is None and event["package_digest"] is None):
            return f"its timeline event of {event['at']} by {event['actor']} is in no evidence record"
    if pending:
        return f"the event of evidence record {pending[0][0]} is missing from its timeline (or changed)"
    return None
