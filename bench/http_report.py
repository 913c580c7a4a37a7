"""The HTTP benchmark's results and the report written from them (``bench_http.py`` runs the
cases; this module turns a ``Run`` into docs/benchmarks-http.md)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from common import MiB, machine, markdown_table
from httpload import LoadResult

from connector.config import Settings

STAGES = ("verify", "validate", "route", "persist")
CEILING_REQUESTS = 8
SMALL = "7 KB sendDocument"
SMALL_ALONE = "7 KB sendDocument, 1 connection"
LARGE = "20 MiB sendDocument"


# ---- results -------------------------------------------------------------------------------


@dataclass
class Stages:
    """Mean seconds per request of one operation, from the connector's own metrics."""

    requests: int
    request: float  # connector_request_seconds: from the WSGI call to the answer being ready
    stages: dict[str, float]

    @property
    def outside(self) -> float:
        return self.request - sum(self.stages.values())


@dataclass
class Case:
    name: str
    target: str
    load: LoadResult
    cpu_seconds: float
    rss_before_kib: int
    peak_kib: int
    stages: dict[str, Stages] = field(default_factory=dict)  # by operation (connector only)
    envelope_bytes: int = 0
    package_bytes: int = 0

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_seconds / max(len(self.load.answers), 1)

    @property
    def growth_kib(self) -> int:
        return max(self.peak_kib - self.rss_before_kib, 0)

    @property
    def copies(self) -> float:
        return self.growth_kib * 1024 / self.package_bytes if self.package_bytes else float("nan")


@dataclass
class Run:
    options: argparse.Namespace
    cases: list[Case] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # request kind -> (envelope, package) bytes
    ceiling: Case | None = None
    profile: list[tuple[str, float, float, float]] = field(default_factory=list)  # by own time
    profile_ours: list[tuple[str, float, float, float]] = field(default_factory=list)  # ours, by cumulative

    def case(self, name: str, target: str) -> Case | None:
        return next((c for c in self.cases if c.name == name and c.target == target), None)

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)


# ---- the report ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and not math.isnan(base) and not math.isnan(value) else "-"


def with_ratio(text: str, value: float, base: float | None) -> str:
    return f"{text} ({ratio(value, base)})" if base is not None else text


def results_table(run: Run) -> str:
    """Every figure with its ratio to bare Spyne's in the same case (the baseline's own rows: 1.00x)."""
    rows = []
    for c in run.cases:
        base = run.case(c.name, "bare Spyne")
        load = c.load
        cells = [with_ratio(f"{load.rate:.1f}", load.rate, base.load.rate if base else None)]
        for q in (50, 95, 99):
            value = load.percentile_ms(q)
            cells.append(with_ratio(f"{value:.1f}", value, base.load.percentile_ms(q) if base else None))
        cells.append(with_ratio(ms(c.cpu_per_request), c.cpu_per_request, base.cpu_per_request if base else None))
        cells.append(with_ratio(f"{c.peak_kib / 1024:.0f}", c.peak_kib, base.peak_kib if base else None))
        faults = ", ".join(f"{code} x{n}" for code, n in load.faults().most_common()) or "-"
        rows.append((c.name, c.target, len(load.answers), *cells, faults))
    headers = ["case", "server", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "peak RSS MiB",
               "faults"]  # fmt: skip
    return markdown_table(headers, rows, "ll" + "r" * 7 + "l")


def stage_table(run: Run, name: str, operations: Sequence[str] | None = None) -> str | None:
    """Mean ms per request, stage by stage, for the connector's runs of one case."""
    rows = []
    for c in run.cases:
        if c.name != name or not c.stages:
            continue
        base = run.case(name, "bare Spyne")
        for operation in operations or sorted(c.stages):
            s = c.stages.get(operation)
            if s is None:
                continue
            client = c.load.mean_s(operation)
            rows.append((
                c.target, operation, ms(client), ms(s.request), *(ms(s.stages.get(x, 0.0)) for x in STAGES),
                ms(s.outside), ms(client - s.request), ms(base.load.mean_s(operation)) if base else "-",
            ))  # fmt: skip
    if not rows:
        return None
    headers = ["server", "operation", "client sees", "in the app", *STAGES, "app outside the stages",
               "HTTP + waiting", "bare Spyne, client sees"]  # fmt: skip
    return markdown_table(headers, rows, "ll" + "r" * (len(headers) - 2))


def targets(run: Run) -> tuple[str, list[str]]:
    rows, why = [], []
    small, small_bare = run.case(SMALL, "SQLite, 1 process"), run.case(SMALL, "bare Spyne")
    if small and small_bare:
        r = small.load.rate / small_bare.load.rate
        met = r >= 0.5
        rows.append(("7 KB send throughput, SQLite, 1 process", ">= 0.5x bare Spyne", f"{r:.2f}x", _met(met)))
        if not met:
            alone = run.case(SMALL_ALONE, "SQLite, 1 process")
            why.append(_why_small(small, small_bare, alone, run.case(SMALL_ALONE, "bare Spyne")))
    reference = run.case(SMALL, "PostgreSQL, 1 process")
    if reference and small_bare:
        r = reference.load.rate / small_bare.load.rate
        rows.append(("7 KB send throughput, PostgreSQL, 1 process", ">= 0.5x bare Spyne", f"{r:.2f}x", _met(r >= 0.5)))
    large, large_bare = (
        run.case(LARGE, "SQLite, 1 process"),
        run.case(LARGE, "bare Spyne"),
    )
    if large and large_bare:
        r = large.load.mean_s() / large_bare.load.mean_s()
        rows.append(("20 MiB send time, SQLite, 1 process", "<= 1.5x bare Spyne", f"{r:.2f}x", _met(r <= 1.5)))
        if r > 1.5:
            s = large.stages.get("sendDocument")
            if s:
                parts = {
                    **s.stages,
                    "app outside the stages": s.outside,
                    "HTTP + waiting": large.load.mean_s() - s.request,
                }
                worst = sorted(parts.items(), key=lambda kv: kv[1], reverse=True)[:3]
                why.append("20 MiB time: the largest parts per request are " +
                           ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in worst) +
                           f" (bare Spyne: {large_bare.load.mean_s() * 1000:.0f} ms in all)")  # fmt: skip
        copies = large.copies
        rows.append(
            ("20 MiB peak RSS growth, SQLite", "<= 4 package copies", f"{copies:.1f} copies", _met(copies <= 4))
        )
        if copies > 4:
            why.append(f"20 MiB memory: peak RSS grew {large.growth_kib / 1024:.0f} MiB for a "
                       f"{large.package_bytes / MiB:.1f} MiB package ({copies:.1f} copies); bare Spyne grew "
                       f"{large_bare.growth_kib / 1024:.0f} MiB ({large_bare.copies:.1f} copies) for the same request "
                       "doing nothing with it: that much is Spyne reading the envelope (the body, its tree, the "
                       "base64 text, the decoded bytes) before any of the connector's code runs")  # fmt: skip
    headers = ["target", "wanted", "measured", ""]
    return markdown_table(headers, rows, "llrl") if rows else "(the cases for the targets did not run)", why


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _why_small(small: Case, bare: Case, alone: Case | None, bare_alone: Case | None) -> str:
    """Where a 7 KB send's time goes: from the one-connection run when there is one (its stages
    are work, not waiting), else from the loaded run."""
    text = f"7 KB throughput: CPU per send {ms(small.cpu_per_request)} ms, bare Spyne's {ms(bare.cpu_per_request)} ms"
    case = alone if alone is not None and "sendDocument" in alone.stages else small
    s = case.stages.get("sendDocument")
    if s is None:
        return text + "."
    parts = {**s.stages, "app outside the stages (Spyne parse + XSD, authentication, receipt XML, log)": s.outside}
    order = sorted(parts.items(), key=lambda kv: kv[1], reverse=True)
    spent = ", ".join(f"{k} {v * 1000:.2f} ms ({v / s.request:.0%})" for k, v in order)
    where = "with one request in flight" if case is alone else "under load"
    text += f"; {where} a send spends {s.request * 1000:.2f} ms in the app: {spent}"
    if case is alone and bare_alone is not None:
        text += f" (bare Spyne answers the same request in {ms(bare_alone.load.mean_s())} ms, as the client sees it)"
    return text + "."


def report(run: Run) -> str:
    o = run.options
    lines = [
        "# HTTP benchmark: the connector against bare Spyne",
        "",
        "Written by `bench/bench_http.py` from the run below; do not edit the numbers by hand. "
        "Run it again with `.venv/bin/python bench/bench_http.py` (`--quick`, `--no-write`, `--ceiling`, "
        "`--profile`: see `bench/README.md`).",
        "",
        *[f"- {k}: {v}" for k, v in machine().items()],
        f"- run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {o.duration:g} s per case, "
        f"{o.connections} keep-alive connections, {o.threads} waitress threads per server process"
        + f"; options: {' '.join(sys.argv[1:]) or 'none'}",
        *[
            f"- {kind}: envelope {env / 1024:,.1f} KiB"
            + (f", signed edXML package {pkg / 1024:,.1f} KiB" if pkg else "")
            for kind, (env, pkg) in run.sizes.items()
        ],  # fmt: skip
        "",
        "## How to read this",
        "",
        "This script is only the client: another process, sending pre-built requests (signed packages, a "
        "fresh UsernameToken per envelope) back to back over the keep-alive connections, so req/s is what the "
        "server sustains with that many requests in flight. *bare Spyne* (`bench/bare_spyne.py`) is the "
        "connector's own service definition on the same waitress, validating against the same models and "
        "answering constants: the SOAP stack alone. Figures in brackets are ratios to it in the same case; on "
        "a busy 2-core machine the absolute numbers move between runs, the ratios much less. CPU ms/req (the "
        "server processes' user + system time over the case, per answer) is what limits throughput; peak RSS "
        "is the server's VmHWM, reset when the case starts. Both are summed over the server's processes when "
        "it has several (a supervisor included); PostgreSQL's own processes are not counted. The stage "
        "tables are the connector's own metrics, scraped before and after: *in the app* runs from the WSGI "
        "call to the answer, then the pipeline's four stages, *app outside the stages* (Spyne's parse and XSD "
        "validation, authentication with its nonce write, the receipt's XML, the log line) and *HTTP + "
        "waiting* (what the client saw beyond the app). They are wall-clock times with several requests in "
        "flight, so they include waiting for the GIL and, on SQLite, for the single writer: a stage can take "
        "much longer than the CPU it uses; the one-connection rows show the work alone.",
        "",
        "## Results",
        "",
        results_table(run),
        "",
        "## Targets",
        "",
    ]
    table, why = targets(run)
    lines += [table, ""] + [f"- {w}" for w in why] + ([""] if why else [])
    for name, title in (
        (SMALL, "7 KB sendDocument, stage by stage (mean ms per request)"),
        (SMALL_ALONE, "7 KB sendDocument with one connection, stage by stage (mean ms per request)"),
        (LARGE, "20 MiB sendDocument, stage by stage (mean ms per request)"),
        ("mixed", "Mixed load by operation (mean ms per request)"),
    ):
        table = stage_table(run, name)
        if table:
            lines += [f"## {title}", "", table, ""]
    large = [c for c in run.cases if c.name == LARGE]
    if large:
        rows = [(c.target, f"{c.load.mean_s():.2f}", f"{c.rss_before_kib / 1024:.0f}", f"{c.peak_kib / 1024:.0f}",
                 f"{c.growth_kib / 1024:.0f}", f"{c.copies:.1f}") for c in large]  # fmt: skip
        lines += [
            "## 20 MiB sendDocument: time and memory",
            "",
            "One request at a time on one connection, the peak-RSS mark reset before each; the growth is the "
            "largest of the requests' (peak during the request minus RSS before it), package copies = growth / "
            "the signed package's decoded size.",
            "",
            markdown_table(
                ["server", "s per request", "RSS before MiB", "peak MiB", "growth MiB", "package copies"], rows
            ),
            "",
        ]
    if run.ceiling:
        c, budget = run.ceiling, Settings()
        faults = ", ".join(f"{code} x{n}" for code, n in c.load.faults().most_common()) or "none"
        lines += [
            "## Memory ceiling: 8 requests of ~90 MB at once",
            "",
            f"SQLite, 1 process, the default memory budget (requests above `large_request_bytes` = "
            f"{budget.large_request_bytes / MiB:g} MiB take one of `max_large_requests` = {budget.max_large_requests} "
            f"slots; the others get `Server.Busy` at once), {CEILING_REQUESTS} connections each sending one request "
            f"with a {c.package_bytes / MiB:.0f} MiB package. Answered: {len(c.load.ok)} accepted; faults: {faults}. "
            f"Peak RSS {c.peak_kib / 1024:.0f} MiB (from {c.rss_before_kib / 1024:.0f} MiB: "
            f"+{c.growth_kib / 1024:.0f} MiB, {c.copies:.1f} package copies), {c.load.seconds:.1f} s for all "
            f"{CEILING_REQUESTS}.",
            "",
        ]
    if run.profile:
        rows = [(name, f"{calls:.1f}", f"{own:.0f}", f"{cum:.0f}") for name, calls, own, cum in run.profile]
        lines += [
            "## Profile: 7 KB sendDocument in-process (`--profile`)",
            "",
            "The connector's WSGI callable called directly (no HTTP server), under cProfile; the top functions by "
            "own time, per send (cProfile slows Python code more than C code, so shares are indicative).",
            "",
            markdown_table(["function", "calls/send", "own µs/send", "cumulative µs/send"], rows, "lrrr"),
            "",
            "The project's own functions (`connector/`, `signing/`) by cumulative time, per send:",
            "",
            markdown_table(
                ["function", "calls/send", "own µs/send", "cumulative µs/send"],
                [(name, f"{calls:.1f}", f"{own:.0f}", f"{cum:.0f}") for name, calls, own, cum in run.profile_ours],
                "lrrr",
            ),
            "",
        ]
    if run.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in run.notes], ""]
    return "\n".join(lines)
