"""sendDocument's request pipeline stage by stage, against lxml + python-xmlsec of the same bytes.

Run: ``.venv/bin/python bench/bench_pipeline.py`` (under a minute; ``--no-write`` prints only,
``--no-http`` skips the optional SOAP-over-HTTP row). A real ``ExchangeService`` (SQLite in a
temporary directory, development keys) accepts the provincial guide's send package as built
(~5 KB, ~7 KB signed) and with a 20 MiB incompressible PDF attachment (~27 MB signed). Each
stage that ``send_document`` records in ``StageTimings`` (verify, validate, route, persist) and
the whole call are reported next to a baseline timed in the same run: a plain lxml parse plus
a python-xmlsec (libxmlsec1) verification of the same signed bytes, the least any verifying
service must do. Speed is measured, not asserted. Peak memory of one 20 MiB send is measured
in a fresh interpreter. Results go to docs/benchmarks-pipeline.md.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import math
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from common import (
    PADDING,
    MiB,
    Timing,
    current_rss_kib,
    machine,
    markdown_table,
    peak_rss_kib,
    profile_location,
    reset_peak_rss,
    run_child,
    text_table,
    time_op,
)
from lxml import etree

from connector.auth import AuthMethod, Caller
from connector.config import load_settings
from connector.edxml import build
from connector.exchange.pipeline import StageTimings
from connector.exchange.receipts import Receipt, sign_receipt
from connector.exchange.requests import DossierInfo, SendDocumentRequest
from connector.exchange.states import DocumentKind
from connector.serving.runtime import Runtime, build_runtime
from signing import SigningIdentity, sign_package
from signing.xmlparse import hardened_parser
from simulators import guide

ROOT = Path(__file__).resolve().parents[1]

DOC = ROOT / "docs" / "benchmarks-pipeline.md"
STAGES = ("verify", "validate", "route", "persist")
OUTSIDE = "outside the stages"  # replay check, request digests: send_document minus its stages
SMALL_ROUNDS = 7
SMALL_ROUND_SECONDS = 0.25  # each 5 KB round runs as many sends as fill this
LARGE_ROUNDS = 5  # one 20 MiB send per round: each needs its own freshly signed package
HTTP_ROUNDS, HTTP_NUMBER = 5, 20
PROFILE_SENDS = 200
SMALL_FILE = "small.signed.xml"
MEMORY_OPS = ("baseline", "send_document", "stages")
LARGE_FILES = {op: f"large-{op}.signed.xml" for op in MEMORY_OPS}


# ---- the connector and its inputs ------------------------------------------------------


def make_runtime(data_dir: Path) -> Runtime:
    """The connector as `server.py` assembles it on its embedded defaults, minus delivery."""
    settings = load_settings(None, environ={}, data_dir=data_dir, delivery={"enabled": False})
    return build_runtime(settings)


class Sender:
    """Signs send packages as the one-stop system would. Every package gets its own dossier, so
    its own DocumentId: the service refuses a DocumentId it has seen (DUPLICATE_MESSAGE)."""

    def __init__(self, runtime: Runtime) -> None:
        assert runtime.dev_keys is not None  # the embedded default: development keys
        self.identity: SigningIdentity = runtime.dev_keys.identity(guide.ONESTOP.organ_id)

    @staticmethod
    def dossier(tag: str) -> guide.Dossier:
        return guide.Dossier(f"BENCH-{tag}", f"B{tag}", "Nguyễn Văn An", "cbtiepnhan")

    def signed(self, tag: str, padding: int = 0) -> bytes:
        return sign_package(build(guide.send_package(self.dossier(tag), padding=padding)), self.identity)

    def request(self, tag: str, data: bytes) -> SendDocumentRequest:
        d = self.dossier(tag)
        info = DossierInfo(d.code, procedure_code=guide.PROCEDURE_CODE, onestop_number=d.onestop_number)
        return SendDocumentRequest(f"bench-{uuid.uuid4()}", data, DocumentKind.INCOMING, d.officer, info)

    def requests(self, prefix: str, count: int, padding: int = 0) -> list[SendDocumentRequest]:
        # Signed before any timing starts: signing is the client's cost, not the connector's.
        tags = [f"{prefix}-{uuid.uuid4().hex[:12]}" for _ in range(count)]
        return [self.request(tag, self.signed(tag, padding)) for tag in tags]


class XmlsecBaseline:
    """The minimum a verifying service does: parse the bytes and check the signature in C
    (libxmlsec1: digest, RSA, certificate chain against the same development CA)."""

    def __init__(self, ca_path: Path) -> None:
        try:
            import xmlsec
        except ImportError:
            raise SystemExit("python-xmlsec is the baseline: .venv/bin/pip install -r requirements-bench.txt") from None

        self.xmlsec = xmlsec
        self.manager = xmlsec.KeysManager()  # trusted CA loaded once, as the policy is built once
        self.manager.load_cert(str(ca_path), xmlsec.KeyFormat.PEM, xmlsec.KeyDataType.TRUSTED)

    def verify(self, data: bytes) -> etree._Element:
        # The connector's parser settings (huge_tree: the 20 MiB package's base64 is one text node).
        root = etree.fromstring(data, hardened_parser())
        signature = self.xmlsec.tree.find_node(root, self.xmlsec.constants.NodeSignature)
        self.xmlsec.SignatureContext(self.manager).verify(signature)
        return root


def plain_parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, hardened_parser())


def onestop(runtime: Runtime) -> Caller:
    """The caller the SOAP layer would have authenticated: the guide's one-stop system."""
    system = runtime.store.system("igate-hungyen")
    assert system is not None
    return Caller(system, AuthMethod.PASSWORD_DIGEST)


def send(runtime: Runtime, request: SendDocumentRequest, timings: StageTimings | None = None) -> None:
    receipt = runtime.service.send_document(request, onestop(runtime), timings)
    if receipt.receipt.state != "accepted":  # timing a refusal would be meaningless
        raise SystemExit(f"sendDocument answered {receipt.receipt.state!r}, not 'accepted'")


# ---- timing send_document stage by stage ----------------------------------------------


@dataclass
class SendTimings:
    """Per-round mean seconds per send, for each stage, OUTSIDE and "total"."""

    rounds: dict[str, list[float]]
    number: int  # sends per round

    @property
    def best_round(self) -> int:
        totals = self.rounds["total"]
        return totals.index(min(totals))

    def timing(self, key: str) -> Timing:
        # "best" is taken from the round with the fastest total, so the stage rows add up to the
        # total row; the median is per column and shows how noisy the run was.
        values = self.rounds[key]
        return Timing(values[self.best_round], statistics.median(values), self.number, len(values))


def time_sends(runtime: Runtime, requests: list[SendDocumentRequest], rounds: int) -> SendTimings:
    number = len(requests) // rounds
    per_round: dict[str, list[float]] = {key: [] for key in (*STAGES, OUTSIDE, "total")}
    for r in range(rounds):
        sums = dict.fromkeys(per_round, 0.0)
        for request in requests[r * number : (r + 1) * number]:
            timings = StageTimings()
            start = time.perf_counter()
            receipt = runtime.service.send_document(request, onestop(runtime), timings)
            elapsed = time.perf_counter() - start
            if receipt.receipt.state != "accepted":
                raise SystemExit(f"sendDocument answered {receipt.receipt.state!r}, not 'accepted'")
            for stage in STAGES:
                sums[stage] += timings.seconds.get(stage, 0.0)
            sums[OUTSIDE] += elapsed - sum(timings.seconds.values())
            sums["total"] += elapsed
        for key, total in sums.items():
            per_round[key].append(total / number)
    return SendTimings(per_round, number)


@dataclass
class Measured:
    """One package size: the baseline, the send_document breakdown, extra reference rows."""

    label: str
    package_bytes: int
    baseline: Timing
    plain: Timing
    sends: SendTimings
    http: Timing | None = None
    receipt: Timing | None = None  # signing one receipt alone, part of persist
    primitives: dict[str, Timing] = field(default_factory=dict)  # keyed as PRIMITIVES


def measure_small(runtime: Runtime, sender: Sender, baseline: XmlsecBaseline) -> Measured:
    for request in sender.requests("warm", 5):  # compiled XSDs, SQLAlchemy caches, signxml schemas
        send(runtime, request)
    probe = sender.requests("probe", 10)
    start = time.perf_counter()
    for request in probe:
        send(runtime, request)
    per_send = (time.perf_counter() - start) / len(probe)
    number = max(10, math.ceil(SMALL_ROUND_SECONDS / per_send))
    requests = sender.requests("small", SMALL_ROUNDS * number)
    data = requests[0].package  # the baseline verifies the same signed bytes, as often as it likes
    measured = Measured(
        "5 KB",
        len(data),
        time_op(lambda: baseline.verify(data), rounds=SMALL_ROUNDS),
        time_op(lambda: plain_parse(data), rounds=SMALL_ROUNDS),
        time_sends(runtime, requests, SMALL_ROUNDS),
    )
    # The receipt is a fixed cost inside persist: price it alone to split persist in two.
    receipt = Receipt(
        "m",
        "sendDocument",
        "m",
        datetime.now(UTC),
        "accepted",
        "d",
        "0" * 64,
        guide.AGENCY.organ_id,
        "registration",
        "vanthu.stp",
    )
    identity = runtime.service.config.identity
    measured.receipt = time_op(lambda: sign_receipt(receipt, identity), rounds=SMALL_ROUNDS)
    return measured


def measure_large(runtime: Runtime, sender: Sender, baseline: XmlsecBaseline) -> Measured:
    requests = sender.requests("large", LARGE_ROUNDS, PADDING)
    data = requests[0].package
    measured = Measured(
        "20 MiB attachment",
        len(data),
        time_op(lambda: baseline.verify(data), rounds=LARGE_ROUNDS, number=1),
        time_op(lambda: plain_parse(data), rounds=LARGE_ROUNDS, number=1),
        time_sends(runtime, requests, LARGE_ROUNDS),
    )
    # What verify and validate are made of, priced one by one on the same bytes.
    root = plain_parse(data)
    operations: dict[str, Callable[[], object]] = {
        "serialise": lambda: etree.tostring(root),
        "c14n": lambda: etree.tostring(root, method="c14n", exclusive=True),
        "sha256": lambda: hashlib.sha256(data).digest(),
    }
    measured.primitives = {key: time_op(op, rounds=3, number=1) for key, op in operations.items()}
    return measured


def time_http(tmp: Path) -> Timing | None:
    """One full sendDocument through zeep → HTTP → waitress → spyne → service, 5 KB package.

    The server runs in a thread of this process, so the client's work (building the envelope,
    base64, parsing the response) shares the interpreter with the server's and is included."""
    try:
        from testkit.live import start_connector  # the live connector the tests use, and its zeep client
    except ImportError as exc:
        print(f"SOAP over HTTP skipped: {exc!r}", file=sys.stderr)
        return None
    live, server = start_connector(tmp / "http")
    try:
        sender = Sender(live.runtime)
        client = live.client()
        payloads = sender.requests("http", HTTP_ROUNDS * HTTP_NUMBER + 3)

        def call(request: SendDocumentRequest) -> None:
            dossier = {
                "dossierCode": request.dossier.dossier_code,
                "procedureCode": request.dossier.procedure_code,
                "onestopNumber": request.dossier.onestop_number,
            }
            receipt = client.service.sendDocument(
                messageId=request.message_id,
                edxmlPackage=request.package,
                kind="INCOMING",
                senderUsername=request.sender_username,
                dossier=dossier,
            )
            if receipt.state != "accepted":
                raise SystemExit(f"sendDocument over HTTP answered {receipt.state!r}")

        for request in payloads[:3]:  # warm-up: WSDL-bound types, spyne, connections
            call(request)
        per_round = []
        for r in range(HTTP_ROUNDS):
            batch = payloads[3 + r * HTTP_NUMBER : 3 + (r + 1) * HTTP_NUMBER]
            start = time.perf_counter()
            for request in batch:
                call(request)
            per_round.append((time.perf_counter() - start) / HTTP_NUMBER)
        return Timing(min(per_round), statistics.median(per_round), HTTP_NUMBER, HTTP_ROUNDS)
    finally:
        server.stop()
        live.runtime.close()


# ---- how often each stage handles the whole package ------------------------------------


class _StageTracker(StageTimings):
    """StageTimings that also knows which stage is running, for count_documents."""

    current: str = OUTSIDE

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        previous, self.current = self.current, name
        try:
            with super().stage(name):
                yield
        finally:
            self.current = previous


def count_documents(runtime: Runtime, request: SendDocumentRequest) -> dict[str, Counter[str]]:
    """Run one send with lxml's fromstring/tostring and hashlib.sha256 wrapped, and count per stage
    the calls that parse, produce or hash at least half the package: full parses, serialisations
    and SHA-256 passes.

    Every module (ours, signxml) calls them as ``etree.fromstring``/``etree.tostring``/
    ``hashlib.sha256``, looked up at call time, so replacing the module attributes sees them all."""
    threshold = len(request.package) // 2  # the 20 MiB attachment itself counts too (~0.75 package)
    tracker = _StageTracker()
    counts: dict[str, Counter[str]] = {}
    original_fromstring, original_tostring, original_sha256 = etree.fromstring, etree.tostring, hashlib.sha256

    def fromstring(text: str | bytes, *args: object, **kwargs: object) -> etree._Element:
        if len(text) >= threshold:
            counts.setdefault(tracker.current, Counter())["parse"] += 1
        return original_fromstring(text, *args, **kwargs)  # type: ignore[arg-type]

    def tostring(node: etree._Element, *args: object, **kwargs: object) -> bytes | str:
        out = original_tostring(node, *args, **kwargs)  # type: ignore[arg-type]
        if len(out) >= threshold:
            kind = "c14n" if kwargs.get("method") == "c14n" else "serialise"
            counts.setdefault(tracker.current, Counter())[kind] += 1
        return out

    def sha256(data: bytes = b"", **kwargs: object) -> hashlib._Hash:  # signxml digests via `cryptography`
        if len(data) >= threshold:
            counts.setdefault(tracker.current, Counter())["sha256"] += 1
        return original_sha256(data, **kwargs)  # type: ignore[arg-type]

    etree.fromstring, etree.tostring = fromstring, tostring  # type: ignore[assignment]
    hashlib.sha256 = sha256  # type: ignore[assignment]
    try:
        send(runtime, request, tracker)
    finally:
        etree.fromstring, etree.tostring = original_fromstring, original_tostring  # type: ignore[assignment]
        hashlib.sha256 = original_sha256
    return counts


# SQLAlchemy internals counted per send: statements executed, pool checkouts, pre-pings.
DB_CALLS = {
    "statements": ("engine/base.py", "_execute_context"),
    "checkouts": ("pool/base.py", "_checkout"),
    "pings": ("engine/default.py", "do_ping"),
}


def profile_small(
    runtime: Runtime, sender: Sender, top: int = 15
) -> tuple[list[tuple[str, float, float, float]], dict[str, float]]:
    """cProfile of 5 KB sends: (function, calls per send, own µs per send, cumulative µs per send)
    for the top functions by own time, and the DB_CALLS per send (empty where names moved)."""
    requests = sender.requests("profile", PROFILE_SENDS)
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests:
        send(runtime, request)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [
        (profile_location(filename, line, function, ROOT), calls / PROFILE_SENDS, own, cumulative)
        for (filename, line, function), (_, calls, own, cumulative, _) in stats.items()
    ]
    rows.sort(key=lambda r: r[2], reverse=True)
    scale = 1e6 / PROFILE_SENDS
    db = {
        key: calls / PROFILE_SENDS
        for key, (suffix, name) in DB_CALLS.items()
        for (filename, _, function), (_, calls, *_) in stats.items()
        if function == name and filename.endswith(f"sqlalchemy/{suffix}")
    }
    return [(name, calls, own * scale, cum * scale) for name, calls, own, cum in rows[:top]], db


# ---- child processes: peak memory ------------------------------------------------------


class _PeakTracker(StageTimings):
    """StageTimings that resets the peak-RSS mark as each stage starts and reads it as the stage
    ends, so each stage's peak is known (above ``start_kib``, the RSS before the send). A run of
    its own: the resets would hide the peak of the whole call from a single measurement."""

    def __init__(self) -> None:
        super().__init__()
        self.start_kib = 0  # set once the input is loaded and the peak mark reset
        self.peaks_kib: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        reset_peak_rss()
        try:
            with super().stage(name):
                yield
        finally:
            self.peaks_kib[name] = peak_rss_kib() - self.start_kib


def child_prepare(data_dir: Path) -> dict:
    """Create the connector's data directory (keys, database) and the signed 20 MiB package in a
    child, so the parent stays small while memory is measured (a child's ru_maxrss can never
    read below its parent's RSS at spawn)."""
    runtime = make_runtime(data_dir)
    try:
        sender = Sender(runtime)
        for op, name in LARGE_FILES.items():
            package = guide.send_package(sender.dossier(op), padding=PADDING)
            data = sign_package(build(package), sender.identity)
            (data_dir / name).write_bytes(data)
        (data_dir / SMALL_FILE).write_bytes(sender.signed("mem-small"))
        assert runtime.dev_keys is not None
        return {"bytes": len(data), "attachment": len(package.attachments[0].data), "ca": str(runtime.dev_keys.ca_path)}
    finally:
        runtime.close()


def child_memory(op: str, data_dir: Path, ca_path: Path) -> dict:
    """Peak RSS added by one operation on the 20 MiB package, in this fresh interpreter."""
    # The input, already in memory when a request arrives. Each sending child has its own signed
    # package: a DocumentId is accepted once, and all children share the database.
    data = (data_dir / LARGE_FILES[op]).read_bytes()
    operation: Callable[[], object]
    runtime: Runtime | None = None
    tracker = _PeakTracker()
    if op == "baseline":
        baseline = XmlsecBaseline(ca_path)
        baseline.verify((data_dir / SMALL_FILE).read_bytes())  # warm-up
        operation = lambda: baseline.verify(data)  # noqa: E731
    elif op in ("send_document", "stages"):
        runtime = make_runtime(data_dir)
        sender = Sender(runtime)
        # Warm-up on a 5 KB package: imports, compiled schemas and caches are one-off process costs.
        send(runtime, sender.request(f"{op}-warm", sender.signed(f"{op}-warm")))
        request = sender.request(op, data)
        if op == "stages":
            operation = lambda: runtime.service.send_document(request, onestop(runtime), tracker)  # noqa: E731
        else:
            operation = lambda: send(runtime, request)  # noqa: E731
    else:
        raise SystemExit(f"unknown operation {op!r}")

    exact = reset_peak_rss()  # the baseline is now the current RSS, input bytes included
    now, before = current_rss_kib(), peak_rss_kib()
    tracker.start_kib = before  # stage peaks are read against the same mark as the whole call
    start = time.perf_counter()
    result = operation()
    seconds = time.perf_counter() - start
    after = peak_rss_kib()
    del result
    if runtime is not None:
        runtime.close()
    return {
        "op": op,
        "before_kib": before,
        "after_kib": after,
        "rss_kib": now,
        "exact": exact,
        "seconds": seconds,
        "stage_peaks_kib": tracker.peaks_kib,
    }


# ---- parent ----------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--prepare":
        print(json.dumps(child_prepare(Path(sys.argv[2]))))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "--memory":
        print(json.dumps(child_memory(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--no-write", action="store_true", help="print only, do not write docs/benchmarks-pipeline.md")
    options.add_argument("--no-http", action="store_true", help="skip the optional SOAP-over-HTTP row")
    args = options.parse_args()

    started = time.perf_counter()
    facts = machine()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        # Memory first, while this process is still small (see child_prepare).
        print("preparing the 20 MiB-attachment package and measuring peak memory ...", file=sys.stderr)
        info = run_child([__file__, "--prepare", str(data_dir)], timeout=300)
        memory = {
            op: run_child([__file__, "--memory", op, str(data_dir), info["ca"]], timeout=300) for op in MEMORY_OPS
        }
        runtime = make_runtime(data_dir)  # the same keys and database the children used
        try:
            sender = Sender(runtime)
            baseline = XmlsecBaseline(Path(info["ca"]))
            print("timing the 5 KB package ...", file=sys.stderr)
            small = measure_small(runtime, sender, baseline)
            profile, db_calls = profile_small(runtime, sender)
            if not args.no_http:
                print("timing sendDocument over HTTP (5 KB) ...", file=sys.stderr)
                small.http = time_http(Path(tmp))
            print("timing the 20 MiB-attachment package ...", file=sys.stderr)
            # The counting send doubles as the warm-up for the large sends (first large allocations).
            counts = count_documents(runtime, sender.requests("count", 1, PADDING)[0])
            large = measure_large(runtime, sender, baseline)
        finally:
            runtime.close()

    results = Results(facts, small, large, profile, db_calls, counts, info, memory, time.perf_counter() - started)
    print(results.terminal())
    if not args.no_write:
        DOC.write_text(results.markdown(), encoding="utf-8")
        print(f"\nwrote {DOC.relative_to(ROOT)}", file=sys.stderr)


# ---- report ----------------------------------------------------------------------------


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


Table = tuple[list[str], list[tuple[str, ...]]]
PRIMITIVES = {
    "serialise": "`etree.tostring(root)` (serialise the tree)",
    "c14n": '`etree.tostring(root, method="c14n", exclusive=True)`',
    "sha256": "`hashlib.sha256(package)`",
}
STAGE_LABELS = {
    "verify": "verify: signature (`signing.verify_package`, signxml)",
    "validate": "validate: edXML (`edxml.validate`: parse, XSD, model, attachments, rules)",
    "route": "route: directory lookups, duplicate check, routing",
    "persist": "persist: receipt signing + one SQLite transaction (package and files)",
    OUTSIDE: "outside the stages: replay check, SHA-256 request and package digests",
}


@dataclass
class Results:
    facts: dict[str, str]
    small: Measured
    large: Measured
    profile: list[tuple[str, float, float, float]]
    db_calls: dict[str, float]
    counts: dict[str, Counter[str]]
    info: dict
    memory: dict[str, dict]
    elapsed: float

    # -- tables --

    def speed_table(self, m: Measured, unit: str) -> Table:
        scale, digits = (1e6, 1) if unit == "µs" else (1e3, 1)
        base = m.baseline.best
        total = m.sends.timing("total")
        headers = [
            f"Operation ({m.label}, {m.package_bytes:,} bytes signed)",
            f"{unit}/op (best)",
            f"{unit}/op (median)",
            "× baseline",
            "share of send_document",
        ]

        def row(label: str, t: Timing, share: bool = False) -> tuple[str, ...]:
            return (
                label,
                f"{t.best * scale:.{digits}f}",
                f"{t.median * scale:.{digits}f}",
                f"{t.best / base:.2f}×",
                f"{t.best / total.best:.0%}" if share else "",
            )

        rows = [
            row("**baseline**: lxml parse + python-xmlsec verify of the same bytes", m.baseline),
            row("… of which: the lxml parse alone (`huge_tree`, as the connector)", m.plain),
        ]
        for key in (*STAGES, OUTSIDE):
            rows.append(row(STAGE_LABELS[key], m.sends.timing(key), share=True))
            if key == "persist" and m.receipt:
                rows.append(row("… of which (timed alone): signing the receipt (`receipts.sign_receipt`)", m.receipt))
        rows.append(row("**`send_document` total** (sum of the rows above it)", total, share=True))
        if m.http:
            rows.append(row("sendDocument over HTTP: zeep → waitress → spyne → service (client included)", m.http))
        return headers, rows

    def primitive_table(self) -> Table:
        base = self.large.baseline.best
        headers = ["Primitive on the 20 MiB-attachment package", "ms/op (best)", "× baseline"]
        rows = [
            ("lxml parse (`huge_tree`)", f"{self.large.plain.best * 1e3:.1f}", f"{self.large.plain.best / base:.2f}×")
        ]
        rows += [
            (PRIMITIVES[key], f"{t.best * 1e3:.1f}", f"{t.best / base:.2f}×")
            for key, t in self.large.primitives.items()
        ]
        return headers, rows

    def count_table(self) -> Table:
        headers = [
            "Stage (one 20 MiB send)",
            "full parses",
            "full serialisations",
            "full C14N",
            "SHA-256 passes (hashlib; package or attachment)",
        ]
        kinds = ("parse", "serialise", "c14n", "sha256")
        rows = [(stage, *(str(self.counts.get(stage, Counter())[k]) for k in kinds)) for stage in (*STAGES, OUTSIDE)]
        total = sum(self.counts.values(), Counter())
        rows.append(("**total**", *(f"**{total[k]}**" for k in kinds)))
        return headers, rows

    def memory_table(self) -> Table:
        headers = [
            "Operation (20 MiB attachment, fresh process)",
            "RSS before (MiB)",
            "peak RSS Δ (MiB)",
            "Δ in attachment copies",
            "Δ in package copies",
        ]

        def row(label: str, before_kib: int, delta_kib: int) -> tuple[str, ...]:
            delta = delta_kib * 1024
            return (
                label,
                f"{before_kib / 1024:.1f}",
                f"{delta / MiB:.1f}",
                f"{delta / self.info['attachment']:.2f}",
                f"{delta / self.info['bytes']:.2f}",
            )

        rows = []
        for op, label in (
            ("baseline", "baseline: lxml parse + python-xmlsec verify"),
            ("send_document", "**`send_document`** (all stages, SQLite write included)"),
        ):
            m = self.memory[op]
            rows.append(row(label, m["before_kib"], m["after_kib"] - m["before_kib"]))
        staged = self.memory["stages"]
        for stage in STAGES:
            if stage in staged["stage_peaks_kib"]:
                rows.append(
                    row(
                        f"… peak during {stage} (separate run, above the RSS before the call)",
                        staged["before_kib"],
                        staged["stage_peaks_kib"][stage],
                    )
                )
        return headers, rows

    def copies(self, op: str) -> float:
        m = self.memory[op]
        return (m["after_kib"] - m["before_kib"]) * 1024 / self.info["attachment"]

    def profile_table(self) -> Table:
        headers = ["Function", "calls/send", "own µs/send", "cumulative µs/send"]
        rows = [(f"`{name}`", f"{calls:g}", f"{own:.1f}", f"{cum:.1f}") for name, calls, own, cum in self.profile]
        return headers, rows

    # -- reading --

    def _stage(self, m: Measured, key: str) -> float:
        return m.sends.timing(key).best

    def reading(self) -> list[str]:
        s, lg = self.small, self.large
        s_total, l_total = self._stage(s, "total"), self._stage(lg, "total")
        s_top = max(STAGES, key=lambda k: self._stage(s, k))
        l_top = max(STAGES, key=lambda k: self._stage(lg, k))
        total = sum(self.counts.values(), Counter())
        verify, validate = self.counts.get("verify", Counter()), self.counts.get("validate", Counter())
        peaks = self.memory["stages"]["stage_peaks_kib"]
        peak_stage = max(peaks, key=peaks.__getitem__) if peaks else "?"
        db = self.db_calls
        db_text = (
            f"{db['statements']:.0f} SQL statements over {db['checkouts']:.0f} connection-pool checkouts "
            f"({db.get('pings', 0):.0f} of them ping the database first: `pool_pre_ping`)"
            if "statements" in db and "checkouts" in db
            else "SQLAlchemy statement building and execution"
        )
        receipt = f" ({s.receipt.best_us:.0f} µs of it, timed alone)" if s.receipt else ""
        return [
            f"5 KB: `send_document` takes {s_total * 1e6:.0f} µs, {s_total / s.baseline.best:.1f}× the baseline "
            f"({s.baseline.best_us:.0f} µs). The largest stage is {s_top} "
            f"({self._stage(s, s_top) * 1e6:.0f} µs, {self._stage(s, s_top) / s_total:.0%}). Fixed per-request "
            f"costs dominate, not the package: {db_text} per send for the replay check, route and persist; "
            f"the receipt's RSA signature through signxml{receipt}; signxml's Python-level verification "
            f"(verify is {self._stage(s, 'verify') / s.baseline.best:.1f}× the baseline, which does the same "
            "cryptographic check without our policy checks); the XSD and the rules. Parsing the package "
            f"({s.plain.best_us:.0f} µs) is noise at this size.",
            f"20 MiB: `send_document` takes {l_total * 1e3:.0f} ms, {l_total / lg.baseline.best:.1f}× the baseline "
            f"({lg.baseline.best * 1e3:.0f} ms). The largest stage is {l_top} "
            f"({self._stage(lg, l_top) * 1e3:.0f} ms, {self._stage(lg, l_top) / l_total:.0%}), then persist "
            f"({self._stage(lg, 'persist') * 1e3:.0f} ms: one SQLite transaction writing the package and the "
            f"decoded file, {(self.info['bytes'] + self.info['attachment']) / MiB:.0f} MiB of "
            "BLOBs). Per-byte work dominates: one send parses the whole package "
            f"{_times(total['parse'])} (verify {verify['parse']}, validate {validate['parse']}), serialises it "
            f"{_times(total['serialise'])}, canonicalises it {_times(total['c14n'])} and makes "
            f"{total['sha256']} full-size SHA-256 passes with hashlib, besides the signature's own digest. The "
            f"baseline parses, canonicalises and digests it once each, in C. Priced with the primitives below, "
            f"verify's parses, serialisations, C14N and digest come to about {self._verify_priced() * 1e3:.0f} ms "
            f"of its {self._stage(lg, 'verify') * 1e3:.0f} ms.",
            f"Memory: one 20 MiB send peaks at {self.copies('send_document'):.1f} copies of the attachment above its "
            f"input, against {self.copies('baseline'):.1f} for the baseline. The highest stage peak is in "
            f"{peak_stage}. During verify the package exists as our structural tree and signxml's trees, "
            "serialisations and canonical bytes at once; what verify returns (canonical bytes and their tree) "
            "stays alive while validate reads the model from that tree and decodes the attachment, and is "
            "dropped when the package stages end. The stage peaks are RSS, so they also hold memory the "
            "allocator kept after earlier frees.",
        ]

    def _verify_priced(self) -> float:
        """Seconds verify's counted whole-package operations cost when priced one by one (the
        signature digest, with `cryptography`, priced as one hashlib SHA-256 pass)."""
        v, price = self.counts.get("verify", Counter()), self.large.primitives
        return (
            v["parse"] * self.large.plain.best
            + v["serialise"] * price["serialise"].best
            + v["c14n"] * price["c14n"].best
            + price["sha256"].best
        )

    def findings(self) -> list[str]:
        """Problems the counts show, with where they come from in the code (read, not measured)."""
        v, val = self.counts.get("verify", Counter()), self.counts.get("validate", Counter())
        other, persist = self.counts.get(OUTSIDE, Counter()), self.counts.get("persist", Counter())
        found = []
        if v["parse"] > 1:
            found.append(
                f"`verify` parses the package {_times(v['parse'])} and serialises it {_times(v['serialise'])} "
                f"(measured above; C14N {_times(v['c14n'])}). By the code: `signing.verify.verify_xml` parses it "
                "(`parse_document`) for its structural checks, then hands the bytes to signxml's "
                "`XMLVerifier.verify`, which parses them again (`get_root`), copies the tree for the reference by "
                "`fromstring(tostring(root))` (`_verify_reference`), copies it once more before the exclusive C14N "
                "transform (`_apply_transforms`), and re-parses the canonical bytes to return `signed_xml`."
            )
        if val["parse"]:
            found.append(
                "`validate` parses `verified.signed_xml` again (`connector/exchange/pipeline.py` `validate_package` → "
                "`safexml.parse_xml`), although `VerifiedPackage.signed_root` is that document already parsed. "
                "The pipeline never reads that tree, yet `AcceptedPackage.verification` keeps it alive until the "
                "request ends, next to `original` and `signed_xml` (two byte copies of the package). "
                'docs/benchmarks-signing.md says the connector "continues with the `VerifiedPackage`"; for the '
                "tree it does not."
            )
        if other["sha256"] > 1:
            found.append(
                f"The package is hashed {_times(other['sha256'])} outside the stages: `service._digest` (request "
                "digest, for idempotency) and `pipeline.accept_package` (package digest), each a full pass "
                "(see `hashlib.sha256` among the primitives)."
            )
        if persist["sha256"]:
            found.append(
                "Minor: persist hashes the decoded attachment (the store keys files by SHA-256) through "
                "`edxml.model.Attachment.sha256`, a plain property that re-hashes `data` on every access; "
                "`AcceptedPackage.blob()` reads it once per file today, but any second reader pays again."
            )
        return found

    # -- output --

    def _tables(self) -> list[Table]:
        return [
            self.speed_table(self.small, "µs"),
            self.speed_table(self.large, "ms"),
            self.memory_table(),
            self.count_table(),
            self.primitive_table(),
            self.profile_table(),
        ]

    def terminal(self) -> str:
        parts = []
        for headers, rows in self._tables():
            clean = [[c.replace("`", "").replace("**", "") for c in r] for r in rows]
            parts += [text_table([h.replace("`", "") for h in headers], clean), ""]
        parts += [f"- {line}".replace("`", "") for line in self.reading()]
        return "\n".join(parts)

    def markdown(self) -> str:
        s, lg = self.small, self.large
        inexact = [op for op, m in self.memory.items() if not m["exact"]]
        speed_small, speed_large, memory, counts, primitives, profile = self._tables()
        http_note = (
            [
                "- SOAP over HTTP (5 KB only): `testkit/live.py` `start_connector` (the live connector the tests use: "
                f"waitress in a thread of this process) and its zeep client; {HTTP_ROUNDS} rounds of {HTTP_NUMBER} "
                "calls. The client's own work (envelope, base64, response parsing) shares the interpreter and is "
                "included."
            ]
            if s.http
            else ["- SOAP over HTTP: not measured in this run (`--no-http`, or the test helpers were not importable)."]
        )
        lines = [
            "# Benchmarks: the sendDocument pipeline, stage by stage",
            "",
            f"Measured by `bench/bench_pipeline.py` on {time.strftime('%Y-%m-%d %H:%M')} ({self.elapsed:.0f} s run). "
            "Re-run with `.venv/bin/python bench/bench_pipeline.py`; see `bench/README.md`.",
            "",
            "## Machine",
            "",
            *(f"- {key}: {value}" for key, value in self.facts.items()),
            "",
            "## Method",
            "",
            "- The service: `connector.serving.runtime.build_runtime` on the embedded defaults in a temporary "
            "directory (SQLite file database, development keys, the guide's sample directory), delivery off. "
            "Requests go straight to `ExchangeService.send_document`, which records `verify` and `validate` "
            "(`connector/exchange/pipeline.py`) and `route` and `persist` (`connector/exchange/`) in "
            "`StageTimings`; "
            f'the rest of the call is shown as "{OUTSIDE}".',
            f"- Inputs: `guide.send_package(dossier)` built with `edxml.build()` and signed with "
            f"`signing.sign_package` as the one-stop system ({guide.ONESTOP.organ_id}): {s.package_bytes:,} bytes "
            f"signed; and `guide.send_package(dossier, padding={PADDING})`: a {self.info['attachment']:,}-byte "
            f"incompressible PDF, {lg.package_bytes:,} bytes signed. Each send gets a package of its own dossier, "
            "hence its own DocumentId (the service refuses a DocumentId twice); all are built and signed before "
            "timing starts.",
            "- Baseline, same run, same signed bytes: `lxml.etree.fromstring` with the connector's hardened "
            "parser settings (`huge_tree`) plus python-xmlsec `SignatureContext.verify` (libxmlsec1: reference "
            "digest, RSA-SHA256, certificate chain against the same development CA). It is the least any service "
            "that verifies the signature must do; every ratio divides by it.",
            f"- Timing, 5 KB: {SMALL_ROUNDS} rounds of {s.sends.number} sends (as many as fill "
            f"{SMALL_ROUND_SECONDS} s), the garbage collector on, after warm-up sends. 20 MiB: {LARGE_ROUNDS} rounds "
            "of 1 send, after one warm-up send. Baselines: `timeit`, best of the same number of rounds. For "
            '`send_document`, "best" is the round with the fastest total, with that round\'s stages, so the rows '
            'add up to the total; "median" is per row over the rounds and shows how noisy the run was.',
            *http_note,
            "- Peak memory: a fresh interpreter per operation loads the signed 20 MiB package (the input, "
            "already in memory when a request arrives), warms up on a 5 KB package, resets the peak-RSS mark "
            "(`/proc/self/clear_refs`), runs the operation once and reads `getrusage(RUSAGE_SELF).ru_maxrss` "
            "again. The delta is what the operation added at its peak, in MiB and in copies of the "
            f"{self.info['attachment'] / MiB:.1f} MiB attachment and of the "
            f"{self.info['bytes'] / MiB:.1f} MiB package.",
            *(
                [f"- The peak-RSS reset was not available for {', '.join(inexact)}: those deltas are lower bounds."]
                if inexact
                else []
            ),
            "- Peak per stage: one more fresh interpreter sends another 20 MiB package with a `StageTimings` "
            "that resets the peak-RSS mark as each stage starts and reads it as the stage ends; each stage's peak "
            "is given above the RSS before the call, like the whole call's.",
            "- Full-document counts: one extra 20 MiB send (it doubles as the warm-up) with `lxml.etree.fromstring`, "
            "`etree.tostring` and `hashlib.sha256` wrapped; a call counts when its input (parse, hash) or output "
            "(serialisation, C14N) is at least half the package, so the 20 MiB attachment's own hash counts too.",
            "",
            "## Results",
            "",
            markdown_table(*speed_small),
            "",
            markdown_table(*speed_large),
            "",
            markdown_table(*memory),
            "",
            "## Where the time goes",
            "",
            *(f"- {line}" for line in self.reading()),
            "",
            "How often each stage handles the whole 20 MiB package:",
            "",
            markdown_table(*counts),
            "",
            "What those operations cost on this package (best of 3):",
            "",
            markdown_table(*primitives),
            "",
            "### Findings",
            "",
            *(f"- {line}" for line in self.findings()),
            "",
            f"### cProfile of {PROFILE_SENDS} sends of the 5 KB package",
            "",
            f"Top {len(self.profile)} by own time, per send. lxml's and libxml2's compiled functions count as the own "
            "time of their Python caller; the profiler inflates Python-heavy code, so read the shares rather than "
            "the absolute µs.",
            "",
            markdown_table(*profile),
            "",
            "See also docs/benchmarks.md (edXML parse/validate) and docs/benchmarks-signing.md (sign/verify).",
            "",
        ]
        return "\n".join(lines)


if __name__ == "__main__":
    main()
