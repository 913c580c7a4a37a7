"""The evidence chain on both backends: one consistent chain whatever the number of writers."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from connector.clock import utcnow
from connector.exchange.states import ExchangeState
from connector.store import EvidenceKeys, EvidenceKind, SignedHead, Store, StoreConflictError
from signing import GENESIS
from simulators import guide
from tests.store.test_store import create

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from connector.clock import utcnow
from connector.store import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[2])):
    store.evidence.record_action(f"writer-{sys.argv[3]}", utcnow(), {"n": i})
"""


def test_writers_in_several_processes_keep_one_chain(database_url):
    store = Store(database_url)
    store.create_schema()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, "25", str(n)], cwd=ROOT) for n in range(3)]
    for n in range(25):  # and this process at the same time
        store.evidence.record_action("writer-main", utcnow(), {"n": n})
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    verdict = store.evidence.verify()
    assert verdict.broken is None
    assert (verdict.records, verdict.head_seq) == (100, 100)
    records = store.evidence.records()
    assert [r.seq for r in records] == list(range(1, 101))
    assert {r.actor for r in records} == {"writer-main", "writer-0", "writer-1", "writer-2"}
    assert all(r.kind is EvidenceKind.OPERATOR for r in records)
    store.close()


def test_an_empty_chain_verifies_and_a_signed_head_is_kept(database_url, tmp_path):
    store = Store(database_url)
    store.create_schema()
    store.create_schema()  # twice: the head row is created once
    store.evidence.keys = EvidenceKeys.load(tmp_path / "evidence-keys")
    assert store.evidence.verify().broken is None
    assert store.evidence.head()[0] == 0
    seq = store.evidence.record_action("ops", utcnow(), {"action": "test"})
    unsaved = SignedHead(0, seq, store.evidence.head()[1], utcnow(), b"<signed/>", None, None, 1, GENESIS)
    head = store.evidence.add_signed_head(unsaved, utcnow())
    assert store.evidence.signed_heads() == [head]
    assert head.noted_seq == seq + 1  # the record noting it
    verdict = store.evidence.verify()
    assert (verdict.broken, verdict.signed_heads_checked, verdict.authenticated) == (None, 1, True)
    with pytest.raises(StoreConflictError):  # another process numbered head 1 meanwhile
        store.evidence.add_signed_head(unsaved, utcnow())
    store.close()


def test_search_takes_the_words_literally_on_both_backends(database_url):
    store = Store(database_url)
    store.create_schema()
    create(store, "m-1", "doc-1")
    assert [x.exchange_id for x in store.search_exchanges(guide.DOSSIER_CODE)] == ["m-1"]  # has "_"
    assert store.search_exchanges("Bo%Thu") == []  # "%" is no wildcard
    assert store.search_exchanges("bo_thu_tuc") != []  # case-insensitive
    assert [x.exchange_id for x in store.search_exchanges("000.00.31")] == ["m-1"]  # an organisation
    assert store.search_exchanges(state=ExchangeState.FINISHED) == []
    assert store.search_exchanges(until=utcnow() - timedelta(days=1)) == []
    assert len(store.search_exchanges(since=utcnow() - timedelta(days=1))) == 1
    kinds = [r.kind for r in store.evidence.records()]
    assert kinds == [EvidenceKind.PACKAGE, EvidenceKind.EVENT, EvidenceKind.RECEIPT]
    store.close()
