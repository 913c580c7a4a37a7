"""An insider who can write the database but not read the connector's key files (docs/evidence.md,
threat model, type 2): each edit the issue lists, made in SQL on a copy of a real database (the
guide played, two heads signed), is caught by ``python -m connector evidence verify`` as an
operator types it, which names the first broken record or head."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from lxml import etree
from sqlalchemy import create_engine

from connector.clock import utcnow
from signing import GENESIS, HEAD_PROFILE, Head, SigningOptions, canonical_json, link_hash, sha256_hex, sign_xml
from simulators import guide
from tests.evidence.conftest import make_runtime, play_guide
from tests.evidence.test_chain import evidence_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Records 1-6: the guide; head 1 covers record 6 (noted in record 7), head 2 record 7 (noted in 8)."""
    data_dir = tmp_path_factory.mktemp("pristine")
    runtime = make_runtime(data_dir)
    play_guide(runtime)
    runtime.notary.sign_head()
    runtime.notary.sign_head()
    runtime.close()
    return data_dir


@pytest.fixture
def copy(pristine, tmp_path) -> Iterator[Path]:
    target = tmp_path / "copy"
    shutil.copytree(pristine, target)
    yield target


def sql(data_dir: Path, *statements: str, params: tuple = ()) -> None:
    with sqlite3.connect(data_dir / "connector.db") as db:
        for statement in statements:
            db.execute(statement, params if "?" in statement else ())


def query(data_dir: Path, statement: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "connector.db") as db:
        return db.execute(statement).fetchall()


def broken(data_dir: Path, *args: str) -> str:
    result = evidence_cli(data_dir, "verify", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("BROKEN: "), result.stdout
    return result.stdout.removeprefix("BROKEN: ")


def rewrite(data_dir: Path, seq: int, change) -> None:  # noqa: ANN001
    """What an insider does to a record: change its content, recompute its hashes and every later
    record's link, and move the head row, all in SQL (the MACs cannot be recomputed)."""
    rows = query(data_dir, f"SELECT seq, content FROM evidence WHERE seq >= {seq} ORDER BY seq")
    before = query(data_dir, f"SELECT record_sha256 FROM evidence WHERE seq = {seq - 1}")
    prev = before[0][0] if before else GENESIS
    for number, content in rows:
        if number == seq:
            content = canonical_json(change(json.loads(content))).decode()
        digest = sha256_hex(content.encode())
        record = link_hash(prev, digest)
        sql(
            data_dir,
            "UPDATE evidence SET content = ?, content_sha256 = ?, prev_sha256 = ?, record_sha256 = ? WHERE seq = ?",
            params=(content, digest, prev, record, number),
        )
        prev = record
    sql(data_dir, "UPDATE evidence_head SET record_sha256 = ?", params=(prev,))


def test_the_untouched_copy_verifies(copy):
    result = evidence_cli(copy, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 8 records"), result.stdout
    assert "2 signed heads agree" in result.stdout
    assert "not yet covered" not in result.stdout  # record 8 notes head 2: nothing after it


def test_a_rewritten_record_with_its_chain_recomputed(copy):
    rewrite(copy, 2, lambda c: c | {"data": c["data"] | {"from": "rejected"}})
    assert broken(copy).startswith("record 2: its MAC does not match (evidence key 1)")


def test_a_signed_head_row_pointed_at_a_rewritten_chain(copy):
    # The head row and the signed head's columns follow the rewrite; its signed XML cannot.
    rewrite(copy, 6, lambda c: c | {"actor": "someone"})
    sql(copy, "UPDATE evidence SET actor = 'someone' WHERE seq = 6")
    [(record,)] = query(copy, "SELECT record_sha256 FROM evidence WHERE seq = 6")
    sql(copy, "UPDATE signed_heads SET record_sha256 = ? WHERE number = 1", params=(record,))
    assert broken(copy).startswith("record 6: its MAC does not match")


def test_a_signed_head_row_that_no_longer_says_what_its_xml_says(copy):
    sql(copy, "UPDATE signed_heads SET seq = 5, record_sha256 = (SELECT record_sha256 FROM evidence WHERE seq = 5)")
    assert broken(copy).startswith("head 1: ")


def test_every_signed_head_deleted_after_a_rewrite(copy):
    rewrite(copy, 4, lambda c: c | {"at": "2020-01-01T00:00:00+00:00"})
    sql(copy, "DELETE FROM signed_heads")
    assert broken(copy).startswith("record 4: ")


def test_signed_heads_deleted_alone(copy):
    sql(copy, "DELETE FROM signed_heads")
    assert broken(copy) == "head 1: noted in record 7 but missing from the signed heads (deleted)\n"


def test_a_head_deleted_from_the_middle_of_the_series(copy):
    sql(copy, "DELETE FROM signed_heads WHERE number = 1")
    assert broken(copy).startswith("head 2: head 1 is missing before it")


def test_a_record_deleted_and_the_rest_renumbered_and_relinked(copy):
    sql(copy, "DELETE FROM evidence WHERE seq = 3")
    for seq in range(4, 9):
        sql(copy, f"UPDATE evidence SET seq = {seq - 1} WHERE seq = {seq}")
    rewrite(copy, 3, lambda c: c | {"seq": 3})
    for seq in range(4, 8):
        rewrite(copy, seq, lambda c, seq=seq: c | {"seq": seq})
    sql(copy, "UPDATE evidence_head SET seq = 7")
    assert broken(copy).startswith("record 3: its MAC does not match")


def test_a_forged_record_appended_and_the_head_row_moved(copy):
    [(prev,)] = query(copy, "SELECT record_sha256 FROM evidence WHERE seq = 8")
    content = canonical_json(
        {"seq": 9, "at": utcnow().isoformat(), "kind": "operator", "exchange_id": None, "actor": "admin:x", "data": {}}
    ).decode()
    digest = sha256_hex(content.encode())
    record = link_hash(prev, digest)
    sql(
        copy,
        "INSERT INTO evidence (seq, at, kind, exchange_id, actor, content, content_sha256, prev_sha256, record_sha256,"
        " mac_key, mac) VALUES (9, ?, 'operator', NULL, 'admin:x', ?, ?, ?, ?, 1, ?)",
        params=(utcnow().isoformat(" "), content, digest, prev, record, "0" * 64),
    )
    sql(copy, "UPDATE evidence_head SET seq = 9, record_sha256 = ?", params=(record,))
    assert broken(copy).startswith("record 9: ")


def test_a_record_inserted_mid_chain_with_the_signed_heads_deleted(copy):
    for seq in range(8, 2, -1):
        sql(copy, f"UPDATE evidence SET seq = {seq + 1} WHERE seq = {seq}")
    sql(
        copy,
        "INSERT INTO evidence SELECT 3, at, kind, exchange_id, actor, content, content_sha256, prev_sha256,"
        " record_sha256, mac_key, mac FROM evidence WHERE seq = 2",
    )
    for seq in range(3, 10):
        rewrite(copy, seq, lambda c, seq=seq: c | {"seq": seq})
    sql(copy, "UPDATE evidence_head SET seq = 9", "DELETE FROM signed_heads")
    assert broken(copy).startswith("record 3: its MAC does not match")


@pytest.mark.parametrize(
    ("column", "value"),
    [("exchange_id", "'another-exchange'"), ("actor", "'000.00.13.H31/someone'"), ("at", "'2020-01-01 00:00:00'")],
)
def test_a_presented_column_changed(copy, column, value):
    sql(copy, f"UPDATE evidence SET {column} = {value} WHERE seq = 4")
    assert broken(copy).startswith(f"record 4: column {column} ")


def test_a_mac_removed(copy):
    sql(copy, "UPDATE evidence SET mac = NULL, mac_key = NULL WHERE seq = 5")
    assert broken(copy) == "record 5: has no MAC (not written by a connector holding the evidence key)\n"


def test_every_mac_removed_with_a_rewrite(copy):
    """Without MACs the records would pass for records from before the upgrade: they do not."""
    sql(copy, "UPDATE evidence SET mac = NULL, mac_key = NULL", "UPDATE evidence_head SET mac = NULL, mac_key = NULL")
    rewrite(copy, 2, lambda c: c | {"actor": "000.00.13.H31/someone"})
    sql(copy, "UPDATE evidence SET actor = '000.00.13.H31/someone' WHERE seq = 2", "DELETE FROM signed_heads")
    sql(copy, "DELETE FROM evidence WHERE seq > 6")
    [(record,)] = query(copy, "SELECT record_sha256 FROM evidence WHERE seq = 6")
    sql(copy, f"UPDATE evidence_head SET seq = 6, record_sha256 = '{record}'")
    result = evidence_cli(copy, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("UNAUTHENTICATED: records 1..6 carry no MAC"), result.stdout


def test_the_last_records_deleted_and_the_head_row_rolled_back(copy):
    [(seq, record)] = query(copy, "SELECT seq, record_sha256 FROM evidence WHERE seq = 7")
    sql(copy, "DELETE FROM evidence WHERE seq = 8", f"UPDATE evidence_head SET seq = {seq}, record_sha256 = '{record}'")
    assert broken(copy) == "head row: its MAC does not match (evidence key 1): the row was changed or forged\n"


def test_a_head_re_signed_by_a_partner(copy):
    """Types 1 and 2 together: a partner's key (same CA) re-signs head 2 in the database."""
    runtime = make_runtime(copy)
    partner = runtime.dev_keys.identity(guide.send_package().sender.organ_id)
    runtime.close()
    [(xml,)] = query(copy, "SELECT signed_xml FROM signed_heads WHERE number = 2")
    genuine = Head.from_signed(etree.fromstring(xml))
    forged = sign_xml(genuine.to_xml(), partner, SigningOptions(check_sender=False), HEAD_PROFILE)
    sql(copy, "UPDATE signed_heads SET signed_xml = ? WHERE number = 2", params=(forged,))
    # Its note (record 8, under the MAC) names the genuine head's SHA-256.
    assert broken(copy) == "head 2: differs from its note, record 8\n"


def test_a_rollback_to_an_earlier_state_shows_only_against_what_left_the_box(copy, pristine, tmp_path):
    """A restored backup is consistent in itself: only exported heads (or receipts) reveal it."""
    exported = tmp_path / "heads.json"
    result = evidence_cli(pristine, "heads", "export", "--out", str(exported))
    assert result.returncode == 0, result.stderr
    assert "wrote 2 signed heads" in result.stdout
    backup = tmp_path / "backup"
    shutil.copytree(copy, backup)
    runtime = make_runtime(copy)
    runtime.store.evidence.record_action("admin:someone", utcnow(), {"action": "retry"})  # record 9
    runtime.notary.sign_head()  # head 3, covering it ...
    runtime.close()
    result = evidence_cli(copy, "heads", "export", "--out", str(exported))
    shutil.rmtree(copy)
    shutil.copytree(backup, copy)  # ... then the database is restored from before it
    assert evidence_cli(copy, "verify").returncode == 0  # nothing inside the database shows it
    assert broken(copy, "--heads", str(exported)).startswith("exported head 3: record 9 is gone")


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Path:
    """A database as it was before migration 0007: the guide's six records, no MACs, no keys, and
    a head signed the way the connector signed them then (unnumbered, not noted in the chain)."""
    data_dir = tmp_path_factory.mktemp("legacy")
    runtime = make_runtime(data_dir)
    play_guide(runtime)
    seq, record = runtime.store.evidence.head()
    signed_at = utcnow()
    options = SigningOptions(check_sender=False)
    old_head = sign_xml(Head(seq, record, signed_at).to_xml(), runtime.service.config.identity, options, HEAD_PROFILE)
    runtime.close()
    engine = create_engine(f"sqlite:///{data_dir / 'connector.db'}")
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(ROOT / "connector" / "store" / "migrations"))
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    engine.dispose()
    sql(
        data_dir,
        "INSERT INTO signed_heads (seq, record_sha256, signed_at, signed_xml) VALUES (?, ?, ?, ?)",
        params=(seq, record, signed_at.isoformat(" "), old_head),
    )
    shutil.rmtree(data_dir / "evidence-keys")
    return data_dir


def test_records_from_before_the_upgrade_are_authenticated_once_and_reported(legacy, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(legacy, copy)
    result = evidence_cli(copy, "verify")
    assert result.returncode == 2 and "no evidence keys in" in result.stderr, result.stdout + result.stderr
    make_runtime(copy).close()  # the first start after the upgrade
    result = evidence_cli(copy, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "legacy: records 1..6 were written before the evidence keys, authenticated at" in result.stdout
    assert "1 signed heads agree" in result.stdout  # the legacy head, its signature checked
    sql(copy, "UPDATE evidence SET content = replace(content, 'routed to', 'sent to') WHERE seq = 2")
    assert broken(copy).startswith("record 2: ")


def test_a_chain_broken_before_the_upgrade_is_never_authenticated(legacy, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(legacy, copy)
    sql(copy, "UPDATE evidence SET content = replace(content, 'routed to', 'sent to') WHERE seq = 2")
    make_runtime(copy).close()
    assert query(copy, "SELECT count(*) FROM evidence WHERE mac IS NULL") == [(6,)]
    assert broken(copy).startswith("record 2: its content does not hash to its content_sha256")


def test_a_legacy_head_re_signed_by_a_partner_is_refused(legacy, tmp_path):
    """No note guards a head from before the upgrade: its signature, pinned to the connector, does."""
    copy = tmp_path / "copy"
    shutil.copytree(legacy, copy)
    make_runtime(copy).close()
    runtime = make_runtime(copy)
    partner = runtime.dev_keys.identity(guide.send_package().sender.organ_id)
    runtime.close()
    [(xml,)] = query(copy, "SELECT signed_xml FROM signed_heads")
    forged = sign_xml(
        Head.from_signed(etree.fromstring(xml)).to_xml(), partner, SigningOptions(check_sender=False), HEAD_PROFILE
    )
    sql(copy, "UPDATE signed_heads SET signed_xml = ?", params=(forged,))
    assert broken(copy).startswith("legacy signed head 1: signer REFUSED: signed by serialNumber=000.00.13.H31")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE exchanges SET source_organ = '000.00.14.H31'", "column source_organ (000.00.14.H31) differs from"),
        (
            "UPDATE exchanges SET dossier_code = 'another'",
            "column dossier_code (another) differs from evidence record 2",
        ),
        ("UPDATE exchanges SET state = 'finished'", "column state (finished) differs from evidence record 5"),
        ("UPDATE exchanges SET result_code = 'X'", "its result columns are set, but no evidence record sets them"),
        ("UPDATE events SET actor = 'someone' WHERE event_id = 1", "its timeline event of "),
        ("DELETE FROM events WHERE event_id = 2", "the event of evidence record 5 is missing from its timeline"),
    ],
)
def test_what_the_console_and_exchange_show_present_is_checked_too(copy, statement, expected):
    [(exchange_id,)] = query(copy, "SELECT exchange_id FROM exchanges")
    sql(copy, statement)
    assert broken(copy).startswith(f"exchange {exchange_id}: {expected}")


def test_a_bundle_shows_the_exchange_as_recorded_not_as_the_row_says(copy, tmp_path):
    sql(copy, "UPDATE exchanges SET source_organ = '000.00.14.H31'")
    result = evidence_cli(copy, "export", guide.DOSSIER_CODE, "--out", str(tmp_path / "b.zip"))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        [shown] = json.loads(bundle.read("timeline.json"))["exchanges"]
    assert shown["source_organ"] == guide.send_package().sender.organ_id
