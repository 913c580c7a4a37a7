"""Finding exchanges as an operator types: without regard to case or Vietnamese diacritics, by
applicant, Số ký hiệu and the identifiers, on SQLite and PostgreSQL, through the index."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from connector.clock import utcnow
from connector.exchange.folding import fold
from connector.exchange.states import ExchangeState
from connector.store import PackageBlob, ResultInfo, Store, StoredEvent, StoredMessage
from tests.store.test_store import exchange

# Every vowel with every tone: ngang, huyền, sắc, hỏi, ngã, nặng.
VOWELS = {
    "a": "aàáảãạ",
    "ă": "ăằắẳẵặ",
    "â": "âầấẩẫậ",
    "e": "eèéẻẽẹ",
    "ê": "êềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọ",
    "ô": "ôồốổỗộ",
    "ơ": "ơờớởỡợ",
    "u": "uùúủũụ",
    "ư": "ưừứửữự",
    "y": "yỳýỷỹỵ",
}


@pytest.mark.parametrize("vowel", sorted(VOWELS))
def test_every_tone_and_vowel_mark_folds_to_the_bare_vowel_in_either_case(vowel):
    bare = fold(vowel)
    assert bare in "aeiouy" and len(bare) == 1
    for marked in VOWELS[vowel]:
        assert fold(marked) == fold(marked.upper()) == bare
        assert fold(unicodedata.normalize("NFD", marked)) == bare  # as a Mac or a browser may send it


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("NGUYỄN VĂN AN", "nguyen van an"),
        ("Đặng Thị Đào", "dang thi dao"),
        ("đường Điện Biên Phủ", "duong dien bien phu"),
        ("123/QĐ-UBND", "123/qd-ubnd"),
        ("45/2024/NĐ-CP", "45/2024/nd-cp"),
        ("  Trần\tThị   Thu\u00a0Hường ", "tran thi thu huong"),  # any white space, once
        ("Sở Tư pháp tỉnh Hưng Yên", "so tu phap tinh hung yen"),
        ("000.00.31.H31", "000.00.31.h31"),
        ("  HS-001\tBo_Thu_Tuc ", "hs-001 bo_thu_tuc"),  # plain ASCII: case and white space only
        ("", ""),
    ],
)
def test_fold(written, folded):
    assert fold(written) == folded


def test_only_the_marks_go():
    assert fold("Quốc hội; 50% & _x_") == "quoc hoi; 50% & _x_"
    assert fold("ĐĐđđ") == "dddd"


BLOB = PackageBlob("b" * 64, b"<edXML/>", ())
PEOPLE = {
    "an": ("Nguyễn Văn An", "123/QĐ-UBND"),
    "binh": ("NGUYỄN THỊ BÌNH", "45/2024/NĐ-CP"),
    "dao": ("Đặng Thị Đào", "7/TB-STP"),
    "anh": ("Trần Văn Anh", "50%_giam/CV"),
    "none": (None, None),
}


def add(store: Store, exchange_id: str, applicant: str | None, code: str | None, age: timedelta) -> None:
    """One exchange as sendDocument leaves it, ``age`` old."""
    at = utcnow() - age
    x = dataclasses.replace(
        exchange(exchange_id, f"doc-{exchange_id}"),
        applicant=applicant,
        document_code=code,
        dossier_code=f"HS-{exchange_id.upper()}",
        package_digest=BLOB.digest,
        created_at=at,
        updated_at=at,
    )
    message = StoredMessage(exchange_id, "sendDocument", "d" * 64, exchange_id, b"<receipt/>", at)
    store.create_exchange(x, BLOB, message, StoredEvent(at, ExchangeState.ACCEPTED, "test"), [])


@pytest.fixture
def people(store) -> Store:
    for minutes, (key, (applicant, code)) in enumerate(PEOPLE.items()):
        add(store, key, applicant, code, timedelta(minutes=minutes))
    return store


def found(store: Store, typed: str, **filters) -> list[str]:
    ids = [x.exchange_id for x in store.search_exchanges(typed, **filters)]
    assert store.count_exchanges(typed, **filters) == len(ids)
    return ids


SEARCHES = {  # what is typed: what it finds
    "nguyen van an": ["an"],
    "Nguyễn Văn An": ["an"],
    "NGUYEN": ["an", "binh"],  # newest first
    "nguyễn thị bình": ["binh"],
    "dang thi dao": ["dao"],
    "ĐẶNG": ["dao"],
    "Đào": ["dao"],
    "van an": ["an", "anh"],  # a substring: "Trần Văn Anh" too
    "van anh": ["anh"],
    "123/QĐ-UBND": ["an"],
    "123/qd-ubnd": ["an"],
    "qd-ubnd": ["an"],
    "nđ-cp": ["binh"],
    "HS-DAO": ["dao"],  # the dossier code, as before
    "doc-binh": ["binh"],  # DocumentId
    "000.00.31.h31": ["an", "binh", "dao", "anh", "none"],  # an organisation
    "ĐA": ["dao"],  # under three characters: no trigram, a scan
    "ao": ["dao"],
    "50%_": ["anh"],  # "%" and "_" are the characters, not wildcards
    "5%": [],  # as a wildcard it would match "50%"
    'nguyen "van" an': [],  # quotes are characters too, not FTS5 syntax
    "an\nnguyen": [],  # never across two fields
    "   ": ["an", "binh", "dao", "anh", "none"],  # nothing typed: no text filter
    "nguyen van an x": [],
}


def test_search_without_case_or_diacritics(people):
    """One store per backend for every case (a PostgreSQL database each would be slow)."""
    assert {typed: found(people, typed) for typed in SEARCHES} == SEARCHES


def test_a_published_result_is_found_by_the_code_it_was_issued_under(people):
    issued = ResultInfo("res-dao", "23/QĐ-STP", None, "Phó Chủ tịch", None, None, BLOB.digest)
    event = StoredEvent(utcnow(), ExchangeState.FINISHED, "test")
    assert found(people, "23/qd-stp") == []
    assert people.advance("dao", ExchangeState.ACCEPTED, event, None, None, result=issued)
    assert found(people, "23/qd-stp") == found(people, "23/QĐ-STP") == ["dao"]
    assert found(people, "7/tb-stp") == found(people, "dang thi dao") == ["dao"]  # what it was found by before


def test_text_and_the_other_filters_together(people):
    assert found(people, "nguyen", state=ExchangeState.ACCEPTED) == ["an", "binh"]
    assert found(people, "nguyen", state=ExchangeState.ARRIVED) == []
    assert found(people, "nguyen", since=utcnow() - timedelta(seconds=30)) == ["an"]
    page = [x.exchange_id for x in people.search_exchanges("nguyen", limit=1, offset=1)]
    assert page == ["binh"]


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, object]]]:
    """The SQL the store runs meanwhile, with its parameters."""
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001 - SQLAlchemy's
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def plan_of(store: Store, typed: str) -> str:
    """The database's plan for the store's own statement (not a copy of it) that counts what a
    search finds: it reads every match, so only the search index can spare it a scan. (A page's
    statement may instead walk the newest first and stop at 50: the planner's choice, by cost;
    bench/bench_console_search.py shows both at 100,000 exchanges.)"""
    with statements(store) as seen:
        store.count_exchanges(typed)
    (statement, parameters) = next(s for s in seen if "search_text" in s[0])
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(r[-1]) for r in rows)
        # A few rows are cheaper to scan: ask whether the index can serve the search at all.
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))


def test_the_search_uses_the_index(people):
    plan = plan_of(people, "nguyen van an")
    if people.engine.dialect.name == "sqlite":
        assert "SCAN exchanges_search VIRTUAL TABLE INDEX 0:M" in plan  # FTS5 answers the MATCH
        assert "SEARCH exchanges USING INDEX" in plan  # then each candidate by its key
    else:
        assert "ix_exchanges_search_trgm" in plan and "Bitmap Index Scan" in plan


def test_sqlite_without_the_fts_table_still_searches_by_scanning(tmp_path):
    """What a SQLite without the trigram tokenizer gets from migration 0011 (it logs a warning)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE exchanges_search"))
    store.close()
    store = Store(url)
    add(store, "an", *PEOPLE["an"], timedelta(0))
    assert found(store, "nguyen van an") == ["an"]
    assert "exchanges_search" not in plan_of(store, "nguyen van an")
    store.close()
