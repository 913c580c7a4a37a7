"""Schema migrations on SQLite and PostgreSQL: the head revision is exactly ``tables.metadata``,
and a database made by the first release's ``create_all``, with data in it, is upgraded with
nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, select, text

from connector.store import MigrationError, Store, head_revision, migrate, schema_state, upgrade_schema
from connector.store import tables as current_tables
from tests.store import released_tables as released

AT = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
DIGEST, FILE = "a" * 64, "f" * 64
ROWS = {
    "organizations": [{"organ_id": "000.00.31.H31", "name": "Sở Tư pháp", "clerk_account": "vanthu.stp"}],
    "systems": [
        {
            "system_id": "eoffice-stp",
            "organ_id": "000.00.31.H31",
            "kind": "docmgmt",
            "endpoint": "http://partner.example/soap",
            "mode": "push",
        }
    ],
    "accounts": [{"username": "vanthu.stp", "organ_id": "000.00.31.H31", "role": "clerk", "full_name": "Văn thư"}],
    "username_map": [{"onestop_username": "cbtiepnhan", "docmgmt_username": "tiepnhan.stp"}],
    "procedures": [
        {
            "code": "1.001",
            "name": "Cấp bản sao",
            "agency_id": "000.00.31.H31",
            "default_kind": "INCOMING",
            "interconnection": True,
        }
    ],
    "packages": [{"digest": DIGEST, "data": b"<edXMLEnvelope/>", "size": 16, "stored_at": AT}],
    "attachments": [{"sha256": FILE, "data": b"%PDF-1.4", "size": 8}],
    "package_attachments": [
        {
            "package_digest": DIGEST,
            "content_id": "cid:1",
            "name": "đơn.pdf",
            "content_type": "application/pdf",
            "sha256": FILE,
        }
    ],
    "exchanges": [
        {
            "exchange_id": "m-1",
            "kind": "INCOMING",
            "state": "arrived",
            "document_id": "doc-1",
            "document_code": "02/LT",
            "dossier_code": "D-1",
            "onestop_number": "1948087",
            "procedure_code": "1.001",
            "procedure_name": None,
            "applicant": "Nguyễn Văn An",
            "received_at": AT,
            "due_date": None,
            "officer_opinion": "đồng ý",
            "sender_username": "cbtiepnhan",
            "source_organ": "000.00.13.H31",
            "agency_organ": "000.00.31.H31",
            "queue": "registration",
            "target_account": "vanthu.stp",
            "package_digest": DIGEST,
            "result_document_id": None,
            "result_code": None,
            "result_issue_date": None,
            "result_signer": None,
            "result_position": None,
            "result_identifier": None,
            "result_package_digest": None,
            "created_at": AT,
            "updated_at": AT,
        }
    ],
    "events": [
        {
            "event_id": 1,
            "exchange_id": "m-1",
            "at": AT,
            "state": "accepted",
            "status_code": None,
            "actor": "000.00.13.H31/cbtiepnhan",
            "package_digest": DIGEST,
            "note": "routed",
        },
        {
            "event_id": 2,
            "exchange_id": "m-1",
            "at": AT,
            "state": "arrived",
            "status_code": "01",
            "actor": "000.00.31.H31/-",
            "package_digest": None,
            "note": None,
        },
    ],
    "messages": [
        {
            "message_id": "m-1",
            "operation": "sendDocument",
            "request_digest": "d" * 64,
            "exchange_id": "m-1",
            "receipt": b"<receipt/>",
            "accepted_at": AT,
        }
    ],
    "outbox": [
        {
            "item_id": 1,
            "exchange_id": "m-1",
            "message_id": "m-1:deliverDocument",
            "system_id": "eoffice-stp",
            "mode": "push",
            "operation": "deliverDocument",
            "payload": "{}",
            "package_digest": DIGEST,
            "state": "dead",
            "attempts": 8,
            "next_attempt_at": AT,
            "lease_until": None,
            "last_error": "refused",
            "partner_reference": None,
            "created_at": AT,
            "updated_at": AT,
        }
    ],
    "attempts": [{"attempt_id": 1, "item_id": 1, "at": AT, "outcome": "dead", "error": "refused", "duration_ms": 12}],
}


def released_database(url: str) -> None:
    """What the first release left behind: its create_all, then a working day's rows."""
    engine = create_engine(url)
    released.metadata.create_all(engine)
    with engine.begin() as conn:
        for table in released.metadata.sorted_tables:
            conn.execute(insert(table), ROWS[table.name])
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every released table, read through the released columns."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in released.metadata.sorted_tables}
    engine.dispose()
    return rows


def test_the_released_schema_is_exactly_the_baseline_tables():
    assert set(released.metadata.tables) == migrate.BASELINE_TABLES == set(ROWS)


def test_the_head_revision_is_exactly_the_tables_module(database_url):
    """What `alembic revision --autogenerate` would see: no difference at all."""
    store = Store(database_url)
    store.create_schema()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=migrate.comparison_options(conn.dialect.name))
        diff = compare_metadata(context, current_tables.metadata)
    store.close()
    assert diff == []


def test_a_released_database_with_data_is_upgraded_and_nothing_is_lost(database_url):
    released_database(database_url)
    before = snapshot(database_url)
    store = Store(database_url)
    state = schema_state(store.engine)
    assert (state.current, state.released_unversioned) == (None, True)

    store.create_schema()  # what the server does on start

    assert schema_state(store.engine).current == head_revision()
    assert snapshot(database_url) == before
    x = store.exchange("m-1")
    assert (x.state.value, x.dossier_code, x.applicant, x.received_at) == ("arrived", "D-1", "Nguyễn Văn An", AT)
    assert [e.state.value for e in store.timeline("m-1")] == ["accepted", "arrived"]
    assert [(i.state, i.attempts, i.last_error) for i in store.outbox_items()] == [("dead", 8, "refused")]
    assert store.package_bytes(DIGEST) == b"<edXMLEnvelope/>"
    assert [a.name for a in store.package_attachments(DIGEST)] == ["đơn.pdf"]
    assert store.directory().systems[0].endpoint == "http://partner.example/soap"
    # Migration 0011 folded the old rows for the console's search (and indexed them).
    assert [x.exchange_id for x in store.search_exchanges("nguyen van an")] == ["m-1"]
    assert store.count_exchanges("02/lt") == store.count_exchanges("000.00.13.h31") == 1
    # New rows work beside the old ones: the autoincrement sequences survived too.
    store.retry(1, AT)
    store.create_schema()  # a second upgrade changes nothing
    assert snapshot(database_url)["events"] == before["events"]
    store.close()


def test_an_empty_database_gets_every_revision_and_stamps_the_head(database_url):
    store = Store(database_url)
    before = upgrade_schema(store.engine)
    assert before.empty and before.current is None
    state = schema_state(store.engine)
    assert state.up_to_date and not state.empty and state.current == head_revision()
    store.close()


def test_a_database_that_is_not_the_connectors_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE outbox (x INTEGER)"))
    with pytest.raises(MigrationError, match="not the released schema"):
        upgrade_schema(engine)
    engine.dispose()


def test_the_baseline_is_the_first_revision():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_base() == migrate.BASELINE
