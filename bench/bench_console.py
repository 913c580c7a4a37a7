"""The operators' console (/admin) on a month of a busy connector: server time per page.

Run: ``.venv/bin/python bench/bench_console.py`` (``make bench-console``; ~5 minutes, four of
them loading; ``--reuse`` ~30 s). It drops and recreates two PostgreSQL databases on
127.0.0.1:5432 (role ``postgres``): ``connector_console_bench`` with ``console_data.Shape``
(100,000 exchanges over 30 days, 200,000 outbox items, ~20 partners) and
``connector_console_bench_small`` with the same generator at 1/1000 of the size. Each is
migrated and opened by the server's own ``build_runtime``; the console is
``AdminApp(runtime.console_parts())``, called in-process as waitress would call it, with an
operator's session cookie. Every page in ``PAGES`` is called ``--rounds`` times after a warm-up;
the table gives the median and 95th percentile of the WSGI call (routing, session lookup, the
store's queries, rendering) and its ratio to the same page on the small database: the baseline,
measured in the same run, is what the page costs when the data costs nothing, so the ratio is
what 100,000 exchanges add (a ``SELECT 1`` round trip would be a floor no page comes near).

``--reuse`` times the databases of an earlier run (after ``alembic upgrade``, so new indexes
apply); ``--no-write`` prints only. Results go to docs/benchmarks-console.md (between markers).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import psycopg
from common import machine, markdown_table, text_table
from console_data import Shape, load, partners
from sqlalchemy import insert

from connector.admin.app import SESSION_COOKIE, AdminApp
from connector.admin.auth import add_operator, open_session
from connector.admin.paging import PAGE_SIZE
from connector.auth import Caller
from connector.auth.authenticator import AuthMethod
from connector.clock import utcnow
from connector.config import load_settings
from connector.edxml import StatusCode, build
from connector.exchange.folding import fold
from connector.exchange.requests import DossierInfo, SendDocumentRequest, UpdateStatusRequest
from connector.exchange.states import DocumentKind, ExchangeState
from connector.serving.runtime import Runtime, build_runtime
from connector.store import OperatorRole, OutboxState
from connector.store import tables as t
from signing import sha256_hex, sign_package
from simulators import guide

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks-console.md"
START, END = "<!-- bench_console:start -->", "<!-- bench_console:end -->"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 300
PACKAGES = 8  # distinct real signed packages the exchanges point at

# The pages timed: (what, path). ``{name}`` is filled from ``where()``: ids and page numbers
# that exist in the loaded data. A new console page is one more line here.
PAGES: list[tuple[str, str]] = [
    ("partners", "/admin/partners"),
    ("partners, 7-day charts", "/admin/partners?window=7d"),
    ("one partner", "/admin/partners/{busy_partner}"),
    ("one partner, 7-day charts, last page", "/admin/partners/{busy_partner}?window=7d&page={partner_last_page}"),
    ("exchanges, first page", "/admin/exchanges"),
    ("exchanges, a middle page", "/admin/exchanges?page={exchanges_middle_page}"),
    ("exchanges, the last page", "/admin/exchanges?page={exchanges_last_page}"),
    ("exchanges, search: one dossier code", "/admin/exchanges?q={dossier}"),
    ("exchanges, search: an organisation", "/admin/exchanges?q={organ}"),
    ("exchanges, search: nothing matches", "/admin/exchanges?q=no-such-dossier"),
    ("exchanges, search: a name without diacritics", "/admin/exchanges?q={applicant_folded}"),
    ("exchanges, search: a common surname", "/admin/exchanges?q=nguyen"),
    ("exchanges, search: a Số ký hiệu", "/admin/exchanges?q={document_code}"),
    ("exchanges, state in progress", "/admin/exchanges?state=in_progress"),
    ("exchanges, state in progress, last page", "/admin/exchanges?state=in_progress&page={in_progress_last_page}"),
    ("exchanges, one week", "/admin/exchanges?from={week_from}&to={week_to}"),
    ("exchanges, one week, state finished", "/admin/exchanges?state=finished&from={week_from}&to={week_to}"),
    ("exchange, loaded", "/admin/exchanges/{middle_exchange}"),
    ("exchange, sent through the service", "/admin/exchanges/{played_exchange}"),
    ("outbox, all", "/admin/outbox"),
    ("outbox, the last page", "/admin/outbox?page={outbox_last_page}"),
    ("outbox, one partner", "/admin/outbox?system={busy_partner}"),
    ("outbox, one partner, last page", "/admin/outbox?system={busy_partner}&page={partner_last_page}"),
    ("outbox, dead letters", "/admin/outbox?state=dead"),
    ("outbox, pending of the broken partner", "/admin/outbox?state=pending&system={broken}"),
    ("directory", "/admin/directory"),
    ("evidence", "/admin/evidence"),
    ("certificates", "/admin/certificates"),
    ("confirm: pause", "/admin/partners/{busy_partner}/pause"),
    ("confirm: retry dead letters", "/admin/partners/{broken}/retry-dead"),
    ("confirm: retry one item", "/admin/outbox/{dead_item}/retry"),
]


@dataclass(frozen=True)
class Console:
    runtime: Runtime
    app: AdminApp
    cookie: str
    where: dict[str, str]


@dataclass(frozen=True)
class PageTime:
    name: str
    path: str
    status: str
    samples: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(round(0.95 * (len(ordered) - 1)), len(ordered) - 1)] * 1000


def database(name: str, fresh: bool) -> str:
    """A database of that name on the local server (dropped and created again when ``fresh``)."""
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if fresh or not exists:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def open_console(name: str, shape: Shape, fresh: bool) -> tuple[Console, float]:
    """The runtime and console on database ``name``, loaded with ``shape`` when ``fresh``; the
    data directory (keys) sits beside it in the temp directory, kept for ``--reuse``."""
    data_dir = Path(tempfile.gettempdir()) / name
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    url = database(name, fresh)
    settings = load_settings(
        None, environ={}, data_dir=data_dir, database_url=url, auto_migrate="always", delivery={"enabled": False}
    )
    runtime = build_runtime(settings)  # migrates: on --reuse, new revisions (indexes) apply here
    store = runtime.store
    seconds = 0.0
    if fresh:
        started = time.perf_counter()
        packages = signed_packages(runtime)
        load(store, shape, packages, utcnow())
        play_guide(runtime)
        seconds = time.perf_counter() - started
        print(f"  loaded in {seconds:.0f} s", file=sys.stderr)
    now = utcnow()
    add_operator(store, "bench", "mat-khau-do-hieu-nang", OperatorRole.OPERATOR, now)
    operator = store.operators.get("bench")
    assert operator is not None
    cookie = open_session(store, operator, now, timedelta(hours=4)).cookie
    return Console(runtime, AdminApp(runtime.console_parts()), cookie, where(runtime, shape)), seconds


def signed_packages(runtime: Runtime) -> list[tuple[str, int]]:
    """A few real signed packages (the guide's, one dossier each), stored as the service stores them."""
    assert runtime.dev_keys is not None
    identity = runtime.dev_keys.identity(guide.ONESTOP.organ_id)
    rows = []
    for n in range(PACKAGES):
        dossier = guide.Dossier(f"BENCH-{n:04d}", str(3_000_000 + n), "Nguyễn Văn An", "cbtiepnhan")
        data = sign_package(build(guide.send_package(dossier)), identity)
        rows.append({"digest": sha256_hex(data), "data": data, "size": len(data), "stored_at": utcnow()})
    with runtime.store.engine.begin() as conn:
        conn.execute(insert(t.packages), rows)
    return [(r["digest"], r["size"]) for r in rows]


def play_guide(runtime: Runtime) -> None:
    """The guide's dossier sent and assigned through the real service (its exchange is timed too)."""

    def caller(system_id: str) -> Caller:
        system = runtime.store.system(system_id)
        assert system is not None
        return Caller(system, AuthMethod.PASSWORD_DIGEST)

    assert runtime.dev_keys is not None
    keys = runtime.dev_keys

    def signed(package: Any) -> bytes:
        return sign_package(build(package), keys.identity(package.sender.organ_id))

    dossier = DossierInfo(guide.DOSSIER_CODE, guide.PROCEDURE_CODE, guide.ONESTOP_DOSSIER_NUMBER, guide.PROCEDURE_NAME)
    send = SendDocumentRequest(
        str(uuid.uuid4()), signed(guide.send_package()), DocumentKind.INCOMING, "cbtiepnhan", dossier
    )
    runtime.service.send_document(send, caller("igate-hungyen"))
    status = UpdateStatusRequest(str(uuid.uuid4()), signed(guide.status_package(StatusCode.ASSIGNED)))
    runtime.service.update_status(status, caller("eoffice-stp"))


def where(runtime: Runtime, shape: Shape) -> dict[str, str]:
    """The values ``PAGES`` names, read from the loaded store (not timed)."""
    store = runtime.store

    def last_page(total: int) -> str:
        return str(max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))

    directory = partners(shape.partners)
    busy = directory.agencies[1].system_id
    total = store.count_exchanges()
    [middle] = store.search_exchanges(limit=1, offset=total // 2)
    [played] = store.exchanges_for_dossier(guide.DOSSIER_CODE)
    week_to = (utcnow() - timedelta(days=7)).date()
    return {
        "exchanges_middle_page": last_page(total // 2),
        "exchanges_last_page": last_page(total),
        "in_progress_last_page": last_page(store.count_exchanges(state=ExchangeState.IN_PROGRESS)),
        "dossier": middle.dossier_code,
        "organ": directory.agencies[2].organ_id,
        "week_from": (week_to - timedelta(days=6)).isoformat(),
        "week_to": week_to.isoformat(),
        "middle_exchange": middle.exchange_id,
        "played_exchange": played.exchange_id,
        "outbox_last_page": last_page(store.outbox_page(None, None, 0, 1)[1]),
        "busy_partner": busy,
        "partner_last_page": last_page(store.outbox_page(None, busy, 0, 1)[1]),
        "broken": directory.broken,
        "applicant_folded": quote_plus(fold(middle.applicant or "")),
        "document_code": quote_plus(middle.document_code or ""),
        # A dead letter (the small database may have none: any item, whose page says so).
        "dead_item": str((store.outbox_page(OutboxState.DEAD, None, 0, 1)[0] or store.outbox_page()[0])[0].item_id),
    }


def call(console: Console, path: str) -> tuple[str, float]:
    """One GET of the console as waitress makes it; returns the status and the seconds taken."""
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "HTTP_COOKIE": f"{SESSION_COOKIE}={console.cookie}",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "wsgi.url_scheme": "http",
    }
    status = []
    started = time.perf_counter()
    body = b"".join(console.app(environ, lambda s, headers, exc_info=None: status.append(s)))
    seconds = time.perf_counter() - started
    assert body
    return status[0], seconds


def time_pages(console: Console, rounds: int, pages: Iterable[tuple[str, str]] = PAGES) -> list[PageTime]:
    out = []
    for name, template in pages:
        path = template.format(**console.where)
        status, _ = call(console, path)  # warm-up: templates compiled, plans cached
        samples = [call(console, path)[1] for _ in range(rounds)]
        out.append(PageTime(name, path, status, samples))
        print(f"  {name}: {statistics.median(samples) * 1000:.1f} ms ({status})", file=sys.stderr)
    return out


def report(big: list[PageTime], small: list[PageTime]) -> tuple[list[str], list[list[str]]]:
    headers = ["page", "median ms", "p95 ms", "small db median ms", "× small", f"< {TARGET_MS} ms"]
    rows = []
    for page, base in zip(big, small, strict=True):
        ok = "yes" if page.p95_ms < TARGET_MS and page.status.startswith("200") else "**no**"
        name = page.name if page.status.startswith("200") else f"{page.name} ({page.status})"
        ratio = page.median_ms / base.median_ms if base.median_ms else float("nan")
        rows.append([name, f"{page.median_ms:.1f}", f"{page.p95_ms:.1f}", f"{base.median_ms:.1f}", f"{ratio:.1f}", ok])
    return headers, rows


def table_sizes(runtime: Runtime) -> str:
    with runtime.store.engine.connect() as conn:
        counts = {
            name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
            for name in ("exchanges", "events", "outbox", "attempts", "evidence", "systems", "partner_queues")
        }
        states = dict(conn.exec_driver_sql("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY 1").all())
        size = conn.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar_one()
    parts = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    mix = ", ".join(f"{state} {count:,}" for state, count in states.items())
    return f"{parts}; outbox by state: {mix}; database {size}"


def write_doc(
    headers: list[str], rows: list[list[str]], shape_text: str, args: argparse.Namespace, load_s: float
) -> None:
    facts = machine()
    with psycopg.connect(ADMIN_URL, connect_timeout=5) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
    block = "\n".join(
        [
            START,
            f"Generated by `bench/bench_console.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {facts['Python']}, "
            f"{facts['nproc']}, load average at start {facts['load average at start']}, PostgreSQL {version} "
            f"on the same machine (default settings). {args.rounds} calls per page after a warm-up."
            + (f" Loading took {load_s:.0f} s." if load_s else " Databases reused from an earlier run (`--reuse`)."),
            "",
            f"Data: {shape_text}.",
            "",
            markdown_table(headers, rows, "lrrrrl"),
            END,
        ]
    )
    current = (
        DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Benchmarks: the operators' console\n\n{START}\n{END}\n"
    )
    DOC.write_text(
        re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, current, flags=re.S), encoding="utf-8"
    )
    print(f"wrote {DOC.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=Shape().exchanges, help="exchanges in the big database")
    parser.add_argument("--rounds", type=int, default=20, help="timed calls per page")
    parser.add_argument("--reuse", action="store_true", help="time the databases of an earlier run, not reloaded")
    parser.add_argument("--only", help="time only the pages whose name contains this")
    parser.add_argument("--no-write", action="store_true", help="print only; do not rewrite docs/benchmarks-console.md")
    args = parser.parse_args()
    shape = Shape(exchanges=args.exchanges)
    pages = [p for p in PAGES if args.only is None or args.only in p[0]]
    results, load_s, sizes = {}, 0.0, ""
    for label, name, scaled in (
        ("small", "connector_console_bench_small", shape.scaled(0.001)),
        ("big", "connector_console_bench", shape),
    ):
        print(
            f"{label}: {'reusing' if args.reuse else 'loading'} {name} ({scaled.exchanges:,} exchanges)",
            file=sys.stderr,
        )
        console, seconds = open_console(name, scaled, fresh=not args.reuse)
        try:
            results[label] = time_pages(console, args.rounds, pages)
            if label == "big":
                load_s, sizes = seconds, table_sizes(console.runtime)
        finally:
            console.runtime.close()
    headers, rows = report(results["big"], results["small"])
    print(text_table(headers, rows))
    print(sizes)
    if not args.no_write and args.only is None:
        write_doc(headers, rows, sizes, args, load_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
