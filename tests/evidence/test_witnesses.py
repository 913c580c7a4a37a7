"""What left the box (docs/evidence.md, threat model, types 2 and 3): receipts that name the chain
head, exported heads, the heads directory. An insider with the whole box (database and keys) can
rewrite the chain so that ``evidence verify`` alone passes; the receipts partners hold and the
heads exported earlier still show it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from connector.edxml import StatusCode, build
from connector.exchange.receipts import Receipt
from connector.store import EvidenceKeys, EvidenceKind
from signing import (
    GENESIS,
    RECEIPT_PROFILE,
    SigningOptions,
    canonical_json,
    link_hash,
    sha256_hex,
    sign_package,
    sign_xml,
)
from simulators import guide
from tests.evidence.conftest import make_runtime, play_guide
from tests.evidence.test_chain import evidence_cli
from tests.service.conftest import AGENCY, ONESTOP, send_request, status_request


def receipts_of(runtime) -> list[bytes]:  # noqa: ANN001
    records = [r for r in runtime.store.evidence.records() if r.kind is EvidenceKind.RECEIPT]
    return [runtime.store.message(r.data["message_id"]).receipt for r in records]


def keep(receipts: list[bytes], directory: Path) -> Path:
    """A partner's archive of the receipts it was given."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, receipt in enumerate(receipts, 1):
        (directory / f"receipt-{i}.xml").write_bytes(receipt)
    return directory


def rewrite_with_the_keys(data_dir: Path, seq: int) -> None:
    """A type-3 insider: backdates record ``seq`` and relinks everything after it, MACs and the
    head row included (they hold the evidence key)."""
    keys = EvidenceKeys.load(data_dir / "evidence-keys", create=False)
    with sqlite3.connect(data_dir / "connector.db") as db:
        before = db.execute("SELECT record_sha256 FROM evidence WHERE seq = ?", (seq - 1,)).fetchall()
        prev = before[0][0] if before else GENESIS
        rows = db.execute("SELECT seq, content FROM evidence WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
        for number, content in rows:
            if number == seq:
                content = canonical_json(json.loads(content) | {"at": "2026-01-01T00:00:00+00:00"}).decode()
                db.execute("UPDATE evidence SET at = '2026-01-01 00:00:00.000000' WHERE seq = ?", (number,))
            digest = sha256_hex(content.encode())
            record = link_hash(prev, digest)
            db.execute(
                "UPDATE evidence SET content = ?, content_sha256 = ?, prev_sha256 = ?, record_sha256 = ?, mac = ?"
                " WHERE seq = ?",
                (content, digest, prev, record, keys.mac("evidence-record", number, record).value, number),
            )
            prev = record
        head = keys.mac("evidence-head", rows[-1][0], prev)
        db.execute("UPDATE evidence_head SET record_sha256 = ?, mac = ?", (prev, head.value))


def test_each_receipt_names_the_chain_head_before_its_request(tmp_path):
    runtime = make_runtime(tmp_path)
    play_guide(runtime)
    first, second = (Receipt.from_xml(r) for r in receipts_of(runtime))
    runtime.close()
    assert (first.chain_seq, first.chain_sha256) == (0, GENESIS)
    [(hash3,)] = sqlite3.connect(tmp_path / "connector.db").execute("SELECT record_sha256 FROM evidence WHERE seq = 3")
    assert (second.chain_seq, second.chain_sha256) == (3, hash3)


def test_receipts_kept_by_a_partner_reveal_a_rewrite_with_the_keys(tmp_path):
    runtime = make_runtime(tmp_path / "data")
    play_guide(runtime)
    archive = keep(receipts_of(runtime), tmp_path / "partner")
    runtime.close()
    result = evidence_cli(tmp_path / "data", "verify", "--receipts", str(archive))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 receipts found in the chain" in result.stdout
    rewrite_with_the_keys(tmp_path / "data", 2)
    assert evidence_cli(tmp_path / "data", "verify").returncode == 0  # inside the box, all is consistent
    result = evidence_cli(tmp_path / "data", "verify", "--receipts", str(archive))
    assert result.returncode == 1
    assert result.stdout.startswith("BROKEN: receipt receipt-2.xml: names record 3 as "), result.stdout
    assert "the chain differs there (rewritten or rolled back)" in result.stdout


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy, as SQLite's online backup makes it (its write-ahead log included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_receipts_reveal_a_restored_backup(tmp_path):
    runtime = make_runtime(tmp_path / "data")

    def signed(package) -> bytes:  # noqa: ANN001
        return sign_package(build(package), runtime.dev_keys.identity(package.sender.organ_id), SigningOptions())

    runtime.service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    sqlite_copy(tmp_path / "data" / "connector.db", tmp_path / "backup.db")  # the nightly backup
    runtime.service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED))), AGENCY)
    archive = keep(receipts_of(runtime), tmp_path / "partner")
    runtime.close()
    sqlite_copy(tmp_path / "backup.db", tmp_path / "data" / "connector.db")  # restored
    assert evidence_cli(tmp_path / "data", "verify").returncode == 0  # consistent in itself
    result = evidence_cli(tmp_path / "data", "verify", "--receipts", str(archive))
    assert result.returncode == 1
    assert "BROKEN: receipt receipt-2.xml: no evidence record of exchange" in result.stdout, result.stdout


def test_a_receipt_signed_by_a_partner_is_refused(tmp_path):
    runtime = make_runtime(tmp_path / "data")
    play_guide(runtime)
    [genuine, _] = receipts_of(runtime)
    partner = runtime.dev_keys.identity(guide.send_package().sender.organ_id)
    runtime.close()
    unsigned = Receipt.from_xml(genuine).to_xml()
    archive = keep([sign_xml(unsigned, partner, SigningOptions(check_sender=False), RECEIPT_PROFILE)], tmp_path / "p")
    result = evidence_cli(tmp_path / "data", "verify", "--receipts", str(archive))
    assert result.returncode == 1
    assert result.stdout.startswith("BROKEN: receipt receipt-1.xml: signer REFUSED: signed by serialNumber="), (
        result.stdout
    )


def test_heads_leave_the_box_as_files_and_exports(tmp_path):
    heads_dir = tmp_path / "share" / "heads"
    runtime = make_runtime(tmp_path / "data", evidence_heads_dir=heads_dir)
    play_guide(runtime)
    one = runtime.notary.sign_head()
    two = runtime.notary.sign_head()
    runtime.close()
    assert sorted(p.name for p in heads_dir.iterdir()) == ["head-000001.xml", "head-000002.xml"]
    assert (heads_dir / "head-000002.xml").read_bytes() == two.signed_xml
    assert two.prev_head_sha256 == sha256_hex(one.signed_xml)
    exported = tmp_path / "heads.json"
    result = evidence_cli(tmp_path / "data", "heads", "export", "--out", str(exported))
    assert result.returncode == 0, result.stderr
    result = evidence_cli(tmp_path / "data", "verify", "--heads", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 exported heads found unchanged in the chain" in result.stdout
    result = evidence_cli(tmp_path / "data", "verify", "--heads", str(heads_dir))  # the directory, as it is
    assert result.returncode == 0 and "2 exported heads found unchanged" in result.stdout, result.stdout
    # A type-3 insider drops the heads and their notes, rewrites from record 4 with the keys, and
    # signs a new head with the connector's own identity: inside the box all is consistent again.
    with sqlite3.connect(tmp_path / "data" / "connector.db") as db:
        db.execute("DELETE FROM evidence WHERE seq > 6")
        db.execute("UPDATE evidence_head SET seq = 6")
        db.execute("DELETE FROM signed_heads")
    rewrite_with_the_keys(tmp_path / "data", 4)
    runtime = make_runtime(tmp_path / "data")
    runtime.notary.sign_head()
    runtime.close()
    assert evidence_cli(tmp_path / "data", "verify").returncode == 0
    for witness in (exported, heads_dir):
        result = evidence_cli(tmp_path / "data", "verify", "--heads", str(witness))
        assert result.stdout.startswith("BROKEN: exported head 1: record 6 differs from the exported head"), (
            result.stdout
        )
