"""Several processes starting at once on one fresh PostgreSQL database (nodes of a deployment
brought up together): the schema migrations are serialised by an advisory lock
(``connector/store/migrate.py``), so each process finds the schema at the head revision and
none fails on another's half-made tables. And the constraints several nodes rely on are the
database's own, not one process's memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

from connector.store import Store, head_revision, schema_state
from testkit.processes import ROOT

PROCESSES = 4


def test_processes_migrating_one_empty_database_at_once_all_succeed(tmp_path, postgres_url):
    config = tmp_path / "connector.toml"
    config.write_text(f'data_dir = "{tmp_path}"\ndatabase_url = "{postgres_url}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "connector", "db", "upgrade", "--config", str(config)]
    running = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(PROCESSES)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in running]
    assert [p.returncode for p in running] == [0] * PROCESSES, "\n---\n".join(outputs)
    store = Store(postgres_url)
    try:
        state = schema_state(store.engine)
        assert state.current == head_revision()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("messages", ["message_id"]),  # idempotency: one row per message id, whichever node took it
        ("auth_nonces", ["nonce"]),  # a UsernameToken replayed to another node is still a replay
        ("exchanges", ["exchange_id"]),
        ("outbox", ["item_id"]),
    ],
)
def test_what_nodes_share_is_a_database_key(postgres_url, table, columns):
    store = Store(postgres_url)
    try:
        store.create_schema()
        assert inspect(store.engine).get_pk_constraint(table)["constrained_columns"] == columns
    finally:
        store.close()


def test_a_document_id_and_an_outbox_message_are_unique_in_the_database(postgres_url):
    store = Store(postgres_url)
    try:
        store.create_schema()
    finally:
        store.close()
    engine = create_engine(postgres_url)
    try:
        unique = {
            table: {tuple(c["column_names"]) for c in inspect(engine).get_unique_constraints(table)}
            | {tuple(i["column_names"]) for i in inspect(engine).get_indexes(table) if i["unique"]}
            for table in ("exchanges", "outbox")
        }
    finally:
        engine.dispose()
    assert ("document_id",) in unique["exchanges"]
    assert ("message_id",) in unique["outbox"]
