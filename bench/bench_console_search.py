"""The console's exchange search at 100,000 exchanges, with its index and without.

Run: ``.venv/bin/python bench/bench_console_search.py`` (a few minutes; ``--rows N`` for another
size, ``--no-write`` prints only). Writes ``docs/benchmarks-search.md``.

For each backend (SQLite; PostgreSQL when the local server answers at 127.0.0.1:5432): a
database at revision 0010 is filled with N exchanges (Vietnamese names, Số ký hiệu), upgraded to
the head (migration 0011 folds every row and builds the index: its time is reported), and each
search is timed as the console runs it, ``Store.search_exchanges`` (the first page of 50) plus
``Store.count_exchanges``; then the index is dropped (the SQLite FTS5 table; the PostgreSQL GIN
index: what a server without pg_trgm, or a SQLite without the trigram tokenizer, runs) and the
same searches are timed again by scanning. Best of 5 rounds; the ratio is scan / index.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from bench_http import postgres_database
from common import machine, markdown_table, text_table, time_op

from connector.store import Store, upgrade_schema

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks-search.md"
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đào",
    "Hằng",
    "Hương",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Việt",
    "Yến",
]
NOTATIONS = ("QĐ-UBND", "TB-STP", "CV-SNV", "NĐ-CP", "GP-SXD")
SEARCHES = (  # label, what the operator types
    ("a full name", "nguyen van an"),
    ("a name with marks, upper case", "ĐẶNG THỊ HẰNG"),
    ("a Số ký hiệu", "12345/qd-ubnd"),  # exchange 12345's
    ("a common surname", "nguyen"),
    ("nothing matches", "khong co ai"),
    ("two characters (no trigram)", "an"),
    ("no text: the first page", ""),
)
_EXCHANGES = sa.table(  # the columns at revision 0010 (tables.exchanges has 0011's too)
    "exchanges",
    *(
        sa.column(name)
        for name in [
            "exchange_id",
            "kind",
            "state",
            "document_id",
            "document_code",
            "dossier_code",
            "onestop_number",
            "procedure_code",
            "applicant",
            "sender_username",
            "source_organ",
            "agency_organ",
            "queue",
            "target_account",
            "package_digest",
            "created_at",
            "updated_at",
        ]
    ),
)
DIGEST = "b" * 64


def fill(url: str, rows: int) -> float:
    """``rows`` exchanges at revision 0010, then the upgrade to the head; returns its seconds."""
    engine = sa.create_engine(url)
    upgrade_schema(engine, "0010")
    chance = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    packages = sa.table("packages", sa.column("digest"), sa.column("data"), sa.column("size"), sa.column("stored_at"))
    with engine.begin() as conn:
        conn.execute(sa.insert(packages), [{"digest": DIGEST, "data": b"<edXML/>", "size": 8, "stored_at": start}])
        for first in range(0, rows, 5000):
            batch = []
            for i in range(first, min(first + 5000, rows)):
                at = start + timedelta(minutes=i)
                name = f"{chance.choice(SURNAMES)} {chance.choice(MIDDLE)} {chance.choice(GIVEN)}"
                batch.append(
                    {
                        "exchange_id": f"m-{i:06d}",
                        "kind": "INCOMING",
                        "state": "accepted",
                        "document_id": f"000.00.13.H31,2026/01/01,{i}",
                        "document_code": f"{i}/{NOTATIONS[i % len(NOTATIONS)]}",
                        "dossier_code": f"G22.{i:06d}",
                        "onestop_number": str(1_900_000 + i),
                        "procedure_code": "1.001",
                        "applicant": name,
                        "sender_username": "cbtiepnhan",
                        "source_organ": "000.00.13.H31",
                        "agency_organ": f"000.00.{31 + i % 9}.H31",
                        "queue": "registration",
                        "target_account": "vanthu",
                        "package_digest": DIGEST,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            conn.execute(sa.insert(_EXCHANGES), batch)
    began = time.perf_counter()
    upgrade_schema(engine)
    took = time.perf_counter() - began
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE exchanges"))
    engine.dispose()
    return took


def plan(store: Store, typed: str) -> str:
    """The database's plan for the statement ``search_exchanges`` runs."""
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", note)
    store.search_exchanges(typed, limit=50)
    sa.event.remove(store.engine, "before_cursor_execute", note)
    statement, parameters = seen[-1]
    explain = "EXPLAIN QUERY PLAN" if store.engine.dialect.name == "sqlite" else "EXPLAIN"
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"{explain} {statement}", parameters)
        return "; ".join(str(r[-1]).strip() for r in rows if "Index" in str(r[-1]) or "SCAN" in str(r[-1]))


def measure(url: str) -> dict[str, tuple[float, int, str]]:
    """Per search: best seconds of one page plus its count, the total found, the plan."""
    store = Store(url)
    results = {}
    for label, typed in SEARCHES:
        found = store.count_exchanges(typed)
        timing = time_op(lambda t=typed: (store.search_exchanges(t, limit=50), store.count_exchanges(t)), rounds=5)
        results[label] = (timing.best, found, plan(store, typed))
    store.close()
    return results


def drop_index(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(sa.text("DROP TABLE exchanges_search"))
        else:
            conn.execute(sa.text("DROP INDEX ix_exchanges_search_trgm"))
    engine.dispose()


def run(backend: str, url: str, rows: int) -> tuple[float, list[list[object]], list[str]]:
    print(f"{backend}: filling {rows:,} exchanges", file=sys.stderr)
    migration = fill(url, rows)
    print(f"{backend}: migration 0011 took {migration:.1f} s; timing with the index", file=sys.stderr)
    indexed = measure(url)
    drop_index(url)
    print(f"{backend}: timing by scanning", file=sys.stderr)
    scanned = measure(url)
    table, plans = [], []
    for label, typed in SEARCHES:
        with_index, found, how = indexed[label]
        scan, _, _ = scanned[label]
        table.append(
            [
                backend,
                label,
                f"`{typed}`",
                f"{found:,}",
                f"{with_index * 1e3:.1f}",
                f"{scan * 1e3:.1f}",
                f"{scan / with_index:.1f}x",
            ]
        )
        plans.append(f"- {backend}, {label}: {how or '(no index)'}")
    return migration, table, plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only; do not rewrite docs/benchmarks-search.md")
    args = parser.parse_args()
    facts = machine()
    import sqlite3

    facts["SQLite"] = sqlite3.sqlite_version
    rows, plans, migrations = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        migration, table, how = run("SQLite", f"sqlite:///{Path(scratch) / 'search.db'}", args.rows)
        rows += table
        plans += how
        migrations.append(f"SQLite {migration:.1f} s")
    with postgres_database("_search") as url:
        if url is not None:
            with sa.create_engine(url).connect() as conn:
                facts["PostgreSQL"] = conn.execute(sa.text("SHOW server_version")).scalar_one()
            migration, table, how = run("PostgreSQL", url, args.rows)
            rows += table
            plans += how
            migrations.append(f"PostgreSQL {migration:.1f} s")
    headers = ["Backend", "Search", "Typed", "Found", "Index ms", "Scan ms", "Scan / index"]
    print(text_table(headers, rows))
    print("\n".join(plans))
    if args.no_write:
        return 0
    lines = [
        "# Console search: the index against a scan",
        "",
        f"Written by `bench/bench_console_search.py` on {datetime.now(UTC):%Y-%m-%d} ({args.rows:,} exchanges).",
        "Each time is one page of 50 (`Store.search_exchanges`) plus its total (`Store.count_exchanges`),",
        'as `/admin/exchanges?q=...` runs them; best of 5 rounds. "Scan" is the same store with the',
        "search index dropped: what a PostgreSQL without pg_trgm or a SQLite without the FTS5 trigram",
        "tokenizer runs (docs/operations.md). The ratios are the numbers to compare: this machine is shared.",
        "",
        markdown_table(headers, rows, "lllrrrr"),
        "",
        f"Migration 0011 on {args.rows:,} exchanges (fold every row, build the index): {', '.join(migrations)}.",
        "",
        "Plans with the index (the index lines of `EXPLAIN QUERY PLAN` / `EXPLAIN`):",
        "",
        *plans,
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()) + ".",
        "",
    ]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
