"""The evidence log as the operations leave it, and ``python -m connector evidence verify``
catching rows edited or deleted directly in SQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from connector.store import EvidenceKind
from signing import GENESIS, link_hash, sha256_hex

ROOT = Path(__file__).resolve().parents[2]


def evidence_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", "evidence", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_each_accepted_request_leaves_its_package_event_and_receipt(runtime):
    records = runtime.store.evidence.records()
    assert [r.kind for r in records] == [EvidenceKind.PACKAGE, EvidenceKind.EVENT, EvidenceKind.RECEIPT] * 2
    assert records[0].prev_sha256 == GENESIS
    assert all(b.prev_sha256 == a.record_sha256 for a, b in zip(records, records[1:], strict=False))
    exchange_id = records[0].exchange_id
    [stored] = runtime.store.search_exchanges()
    assert stored.exchange_id == exchange_id
    assert records[0].data["package_sha256"] == stored.package_digest
    receipt = runtime.store.message(records[2].data["message_id"]).receipt
    assert records[2].data["receipt_sha256"] == sha256_hex(receipt)
    moved = records[4].data
    assert (moved["from"], moved["event"]["state"]) == ("accepted", stored.state.value)
    timeline = runtime.store.timeline(exchange_id)
    assert [r.data["event"]["note"] for r in records if r.kind is EvidenceKind.EVENT] == [e.note for e in timeline]


def test_verify_accepts_the_untouched_chain_and_its_signed_heads(runtime, tmp_path):
    runtime.notary.sign_head()
    result = evidence_cli(tmp_path, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    # Six records of the guide, and the seventh notes the signed head.
    assert result.stdout.startswith("OK: 7 records")
    assert "1 signed heads agree" in result.stdout


def _sql(data_dir: Path, statement: str) -> None:
    with sqlite3.connect(data_dir / "connector.db") as db:
        db.execute(statement)


def test_an_edited_record_is_named(runtime, tmp_path):
    _sql(tmp_path, "UPDATE evidence SET content = replace(content, 'routed to', 'sent to') WHERE seq = 2")
    result = evidence_cli(tmp_path, "verify")
    assert result.returncode == 1
    assert result.stdout.startswith("BROKEN: record 2: its content does not hash")


def test_an_edited_record_with_recomputed_hashes_breaks_the_next_link(runtime, tmp_path):
    [record] = runtime.store.evidence.records(since=2, until=2)
    content = record.content.replace("routed to", "sent to")
    digest = sha256_hex(content.encode())
    _sql(
        tmp_path,
        f"UPDATE evidence SET content = '{content}', content_sha256 = '{digest}', "
        f"record_sha256 = '{link_hash(record.prev_sha256, digest)}' WHERE seq = 2",
    )
    # The hashes hold now; the record's MAC (under a key the database never sees) does not.
    broken = runtime.store.evidence.verify().broken
    assert broken.startswith("record 2: its MAC does not match"), broken


def test_a_deleted_record_is_named(runtime, tmp_path):
    _sql(tmp_path, "DELETE FROM evidence WHERE seq = 3")
    result = evidence_cli(tmp_path, "verify")
    assert result.returncode == 1
    assert result.stdout.startswith("BROKEN: record 4: follows record 2 (records 3..3 missing)"), result.stdout


def test_deleting_the_last_records_disagrees_with_the_head(runtime, tmp_path):
    _sql(tmp_path, "DELETE FROM evidence WHERE seq >= 5")
    broken = runtime.store.evidence.verify().broken
    assert broken.startswith("head: the head row says record 6"), broken


def test_a_rewritten_tail_disagrees_with_the_signed_head(runtime, tmp_path):
    runtime.notary.sign_head()
    # Whoever holds the database but not the key rewrites the last record and the head row.
    [last] = runtime.store.evidence.records(since=6, until=6)
    content = last.content.replace('"connector"', '"someone"')
    digest = sha256_hex(content.encode())
    record = link_hash(last.prev_sha256, digest)
    _sql(
        tmp_path,
        f"UPDATE evidence SET content = '{content}', content_sha256 = '{digest}', record_sha256 = '{record}' "
        "WHERE seq = 6",
    )
    _sql(tmp_path, f"UPDATE evidence_head SET record_sha256 = '{record}'")
    # The actor column was left as it was: it now disagrees with the hashed content.
    broken = runtime.store.evidence.verify().broken
    assert broken.startswith("record 6: column actor (connector) differs from its hashed content"), broken
