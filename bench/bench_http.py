"""The connector over HTTP under closed-loop load, against bare Spyne on the same waitress.

Run: ``.venv/bin/python bench/bench_http.py`` (a few minutes; ``--quick`` for a smoke run,
``--no-write`` prints only, ``--ceiling`` adds 8 concurrent 90 MB requests, ``--profile`` adds a
cProfile of the 7 KB send driven in-process). Results go to docs/benchmarks-http.md.

Every server is a separate process started through its real entry point: the connector as
``python server.py --data-dir D --port P --threads T --config FILE`` (its embedded default:
development keys, the guide's sample directory; the config file only switches the delivery
worker off, since the sample directory gives it nowhere to deliver, and for PostgreSQL names the
database), with passwords for three systems of the sample directory set through ``python -m
connector credentials set``; the baseline as ``python bench/bare_spyne.py`` - the same service
definition, XSD validation and waitress options, answering with constants. This process is only
the client: complete requests are built (packages signed, each envelope with its own
UsernameToken) before each case starts, then ``--connections`` keep-alive connections send them
back to back for ``--duration`` seconds (``httpload.run_load``).

Per case: requests/s, latency percentiles, the server's CPU per request (utime + stime of the
server's processes before and after), its peak RSS (VmHWM, reset before the case), and for the
connector the stage timings it records itself (``connector_stage_seconds`` and
``connector_request_seconds`` on /metrics, scraped before and after), so that what a missed
target costs is shown stage by stage. Figures are given as ratios to the baseline's.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import itertools
import logging
import math
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from wsgiref.util import setup_testing_defaults

from common import PADDING, MiB, free_port, profile_location, set_password
from envelopes import SYSTEMS, Envelopes, Request
from http_report import CEILING_REQUESTS, LARGE, SMALL, SMALL_ALONE, STAGES, Case, Run, Stages, report
from httpload import LoadResult, ServerProcess, post_all, run_load
from prometheus_client.parser import text_string_to_metric_families

from connector.auth.admin import CredentialAdmin, generate_password
from connector.config import load_settings

ROOT = Path(__file__).resolve().parents[1]

DOC = ROOT / "docs" / "benchmarks-http.md"
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CEILING_PADDING = 50 * 1000 * 1000  # a 50 MB file: ~67 MB as a package, ~90 MB as a request
PULL_ITEMS = 20  # items waiting for the pull system during the mixed case (the list it reads)
MIX = ("sendDocument",) * 4 + ("updateStatus",) * 3 + ("listPending", "fetchPending", "acknowledge")
UNPROFILED = 100  # in-process sends timed without the profiler
BARE_POOL = 200  # the baseline checks nothing: its envelopes reuse this many signed packages


# ---- the servers -----------------------------------------------------------------------------


@dataclass
class Target:
    """One server under test and how to make requests for it."""

    label: str
    server: ServerProcess
    port: int
    envelopes: Envelopes
    bare: bool
    metrics: bool

    def scrape(self) -> dict[tuple[str, ...], float]:
        if not self.metrics:
            return {}
        with urllib.request.urlopen(f"http://{HOST}:{self.port}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        values: dict[tuple[str, ...], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith(
                    ("connector_requests_total", "connector_request_seconds_", "connector_stage")
                ):
                    labels = sample.labels
                    key = (sample.name, labels.get("operation", ""), labels.get("stage", ""), labels.get("fault", ""))
                    values[key] = values.get(key, 0.0) + sample.value
        return values


def stage_means(before: dict, after: dict) -> dict[str, Stages]:
    def delta(name: str, operation: str, stage: str = "") -> float:
        return sum(after[k] - before.get(k, 0.0) for k in after if k[0] == name and k[1] == operation and k[2] == stage)

    operations = {k[1] for k in after if k[0] == "connector_requests_total"}
    means = {}
    for operation in operations:
        count = int(delta("connector_request_seconds_count", operation))
        if count <= 0:
            continue
        stages = {s: delta("connector_stage_seconds_sum", operation, s) / count for s in STAGES}
        request = delta("connector_request_seconds_sum", operation) / count
        means[operation] = Stages(count, request, {s: v for s, v in stages.items() if v > 0})
    return means


def start_connector(work: Path, label: str, threads: int, database_url: str | None, workers: int) -> Target:
    home = work / re.sub(r"\W+", "-", label).strip("-").lower()
    data = home / "data"
    home.mkdir(parents=True)
    config = home / "connector.toml"
    lines = []
    if database_url:
        lines += [f'database_url = "{database_url}"', 'auto_migrate = "always"']
    lines += ["[delivery]", "enabled = false"]  # the sample directory has no endpoints to deliver to
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    argv = ["server.py", "--data-dir", str(data), "--port", str(port), "--threads", str(threads)]
    argv += ["--config", str(config)]
    env = dict(os.environ)
    if workers > 1:
        argv += ["--workers", str(workers)]
        (home / "metrics").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(home / "metrics")  # one /metrics for all the workers
    server = ServerProcess(argv, ROOT, home / "server.log", env)
    try:
        server.wait_ready(f"http://{HOST}:{port}/health")
        passwords = {system: generate_password() for system in SYSTEMS}
        for system, password in passwords.items():  # as an operator registers a caller
            set_password(system, password, data, config)
    except BaseException:
        server.stop()
        raise
    envelopes = Envelopes(data / "keys", passwords, f"{HOST}:{port}")
    return Target(label, server, port, envelopes, bare=False, metrics=True)


def start_bare(work: Path, threads: int) -> Target:
    home = work / "bare"
    home.mkdir(parents=True)
    port = free_port()
    server = ServerProcess(
        ["bench/bare_spyne.py", "--port", str(port), "--threads", str(threads)], ROOT, home / "server.log"
    )
    server.wait_ready(f"http://{HOST}:{port}/soap")
    passwords = {system: "not checked by the baseline" for system in SYSTEMS}
    return Target("bare Spyne", server, port, Envelopes(home / "keys", passwords, f"{HOST}:{port}"), True, False)


def workers_supported() -> bool:
    done = subprocess.run([sys.executable, "server.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    return "--workers" in done.stdout


@contextmanager
def postgres_database(suffix: str) -> Iterator[str | None]:
    """A database of our own on the local PostgreSQL (dropped afterwards); None if there is none."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except Exception as exc:  # no driver, no server: the PostgreSQL cases are skipped
        print(f"PostgreSQL unavailable ({exc}); its cases are skipped", file=sys.stderr)
        yield None
        return
    name = f"bench_http_{os.getpid()}{suffix}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# ---- the cases -------------------------------------------------------------------------------


def measure(
    run: Run,
    target: Target,
    name: str,
    requests: Sequence[Request],
    duration: float | None,
    connections: int,
    package_bytes: int = 0,
) -> Case:
    """One case: warm-up aside, the window between two scrapes of the server's CPU and memory.
    ``duration`` None: every request once, however long that takes. ``package_bytes``: a large
    request's package; the requests are then sent one at a time, the peak-RSS mark reset before
    each, and the case keeps the largest growth (a request's own peak, not what earlier ones left)."""
    scraped = target.scrape()
    cpu = target.server.cpu_seconds()
    if package_bytes:
        answers, seconds, rss, peak = [], 0.0, 0, 0
        for index, request in enumerate(requests):
            before = target.server.reset_peak()
            one = run_load(HOST, target.port, [request], 1, math.inf)
            after = target.server.memory("VmHWM")
            if after - before >= peak - rss:
                rss, peak = before, after
            answers += [dataclasses.replace(a, index=index) for a in one.answers]
            seconds += one.seconds
        load = LoadResult(answers, seconds, exhausted=False)
    else:
        rss = target.server.reset_peak()
        load = run_load(HOST, target.port, requests, connections, duration or math.inf)
        peak = target.server.memory("VmHWM")
    cpu = target.server.cpu_seconds() - cpu
    stages = stage_means(scraped, target.scrape()) if target.metrics else {}
    envelope = statistics.fmean(r.envelope_bytes for r in requests[: max(len(load.answers), 1)])
    case = Case(name, target.label, load, cpu, rss, peak, stages, round(envelope), package_bytes)
    run.cases.append(case)
    faults = ", ".join(f"{code} x{n}" for code, n in load.faults().most_common()) or "none"
    print(
        f"  {name:28} {load.rate:7.1f} req/s  p50 {load.percentile_ms(50):6.1f} ms  "
        f"p95 {load.percentile_ms(95):6.1f} ms  CPU {case.cpu_per_request * 1000:6.2f} ms/req  "
        f"peak RSS {peak / 1024:6.0f} MiB  faults: {faults}",
        flush=True,
    )
    if load.exhausted and duration is not None:
        run.note(f"{target.label}, {name}: the prepared requests ran out after {load.seconds:.1f} s (see --max-rate)")
    return case


def warm_up(target: Target, requests: Sequence[Request]) -> None:
    """Imports, compiled schemas, pools and connections: before anything is measured."""
    failed = post_all(HOST, target.port, requests).faults()
    if failed:
        raise RuntimeError(f"{target.label}: warm-up requests failed: {dict(failed)}")


def build_sends(target: Target, prefix: str, count: int) -> list[Request]:
    env = target.envelopes
    tags = [f"{prefix}-{n:06d}-{os.urandom(3).hex()}" for n in range(count)]
    if target.bare:  # nothing is checked: a pool of signed packages, fresh ids and tokens
        pool = [env.send_package(tag) for tag in tags[:BARE_POOL]]
        return [env.send_document(tag, pool[n % len(pool)]) for n, tag in enumerate(tags)]
    return [env.send_document(tag, env.send_package(tag)) for tag in tags]


def case_send_small(run: Run, target: Target, alone: bool) -> list[Request]:
    """The 7 KB sendDocument: unique packages (DocumentIds) and message ids. Returns the sends
    accepted: getStatus asks about them, the mixed case reports statuses on them."""
    o = run.options
    warm_up(target, build_sends(target, "warm", 2 * o.connections))
    count = math.ceil(o.max_rate * o.duration) if not target.bare else math.ceil(o.bare_rate * o.duration)
    started = time.monotonic()
    requests = build_sends(target, "small", count)
    print(f"  ({len(requests)} sends built in {time.monotonic() - started:.1f} s)", flush=True)
    run.sizes[SMALL] = (requests[0].envelope_bytes, len(target.envelopes.send_package("size")))
    case = measure(run, target, SMALL, requests, o.duration, o.connections)
    accepted = [requests[a.index] for a in case.load.ok]
    if alone:
        # Once more with one request in flight (for half as long): no waiting for the GIL or the
        # database's writer, so each stage's time is its own work - what explains a miss.
        requests = build_sends(target, "single", math.ceil(count / 2))
        case = measure(run, target, SMALL_ALONE, requests, o.duration / 2, 1)
        accepted += [requests[a.index] for a in case.load.ok]
    return accepted


def case_get_status(run: Run, target: Target, accepted: list[Request]) -> None:
    o = run.options
    if not accepted:
        run.note(f"{target.label}: getStatus skipped (no accepted sends to ask about)")
        return
    ids = itertools.cycle([r.message_id for r in accepted])
    rate = o.bare_rate if target.bare else o.read_rate
    requests = [target.envelopes.get_status(next(ids)) for _ in range(math.ceil(rate * o.duration))]
    warm_up(target, requests[: 2 * o.connections])
    measure(run, target, "getStatus", requests[2 * o.connections :], o.duration, o.connections)


def case_mixed(run: Run, target: Target, accepted: list[Request]) -> None:
    """Sends, status reports on documents the 7 KB case sent (one each), and a pull system
    listing, fetching and acknowledging its items, interleaved in the ratio of ``MIX``."""
    o = run.options
    env = target.envelopes
    if not accepted:
        run.note(f"{target.label}: mixed load skipped (no accepted sends to report statuses on)")
        return
    if target.bare:
        items = list(range(1, PULL_ITEMS + 1))
    else:  # the pull system's waiting items: sent now (not measured), then listed for their ids
        tags = [f"pull-{n}-{os.urandom(3).hex()}" for n in range(PULL_ITEMS)]
        post_all(HOST, target.port, [env.send_document(t, env.send_package(t, pull=True), pull=True) for t in tags])
        listed = post_all(HOST, target.port, [env.list_pending()]).answers[0].body
        items = [int(i) for i in re.findall(rb"<(?:\w+:)?itemId>(\d+)<", listed)]
        if not items:
            raise RuntimeError(f"{target.label}: the pull system has no items after {PULL_ITEMS} sends")
    rate = o.bare_rate if target.bare else o.max_rate
    groups = min(math.ceil(rate * o.duration / len(MIX)), len(accepted) // MIX.count("updateStatus"))
    documents = iter([r.tag for r in accepted])
    fetched, acknowledged = itertools.cycle(items), itertools.cycle(items)
    sends: list[bytes] = []  # the baseline's pool
    statuses: list[bytes] = []
    requests: list[Request] = []
    for g in range(groups):
        for n, operation in enumerate(MIX):
            if operation == "sendDocument":
                tag = f"mixed-{g}-{n}-{os.urandom(3).hex()}"
                if target.bare and len(sends) >= BARE_POOL:
                    signed = sends[len(requests) % BARE_POOL]
                else:
                    signed = env.send_package(tag)
                    sends.append(signed)
                requests.append(env.send_document(tag, signed))
            elif operation == "updateStatus":
                if target.bare and len(statuses) >= BARE_POOL:
                    signed = statuses[len(requests) % BARE_POOL]
                else:  # "arrived" for one document the 7 KB case sent
                    signed = env.status_package(next(documents))
                    statuses.append(signed)
                requests.append(env.update_status(signed))
            elif operation == "listPending":
                requests.append(env.list_pending())
            elif operation == "fetchPending":
                requests.append(env.fetch_pending(next(fetched)))
            else:  # FAIL puts the item back in the list: the pull system's list stays as long
                requests.append(env.acknowledge(next(acknowledged)))
    measure(run, target, "mixed", requests, o.duration, o.connections)


def case_large(run: Run, target: Target) -> None:
    """sendDocument with a 20 MiB attachment, one at a time on one connection."""
    o = run.options
    env = target.envelopes
    count = 1 if o.quick else o.large_sends
    tags = [f"large-{n}-{os.urandom(3).hex()}" for n in range(count)]
    packages = [env.send_package(tag, padding=PADDING) for tag in tags]
    requests = [env.send_document(tag, data) for tag, data in zip(tags, packages, strict=True)]
    run.sizes[LARGE] = (requests[0].envelope_bytes, len(packages[0]))
    measure(run, target, LARGE, requests, None, 1, package_bytes=len(packages[0]))


def case_ceiling(run: Run, target: Target) -> None:
    """8 requests of ~90 MB at once: the memory budget (large_request_bytes, max_large_requests)
    lets a few through and answers the others Server.Busy."""
    env = target.envelopes
    tags = [f"ceiling-{n}-{os.urandom(3).hex()}" for n in range(CEILING_REQUESTS)]
    started = time.monotonic()
    requests, size = [], 0
    for tag in tags:
        package = env.send_package(tag, padding=CEILING_PADDING)
        requests.append(env.send_document(tag, package))
        size = len(package)
    print(f"  ({len(requests)} requests of {requests[0].envelope_bytes / MiB:.0f} MiB built in "
          f"{time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip
    run.sizes["memory ceiling sendDocument"] = (requests[0].envelope_bytes, size)
    run.ceiling = measure(run, target, "8 x 90 MB at once", requests, None, CEILING_REQUESTS)
    run.ceiling.package_bytes = size  # for the copies; the peak is the whole burst's
    run.cases.remove(run.ceiling)


def exercise(run: Run, target: Target, single: bool) -> None:
    """The cases; ``single``: a one-process server, which also gets the one-connection and 20 MiB cases."""
    print(f"{target.label}:", flush=True)
    accepted = case_send_small(run, target, alone=single)
    case_get_status(run, target, accepted)
    case_mixed(run, target, accepted)
    if single:
        case_large(run, target)


# ---- the in-process profile ------------------------------------------------------------------


def profile_small(run: Run, work: Path, sends: int = 300, top: int = 25) -> None:
    """The 7 KB sendDocument through the connector's WSGI callable in this process, under cProfile
    (no HTTP server, no socket; the request line is logged to nowhere)."""
    from connector.serving.app import ConnectorApp
    from connector.serving.runtime import build_runtime

    logging.getLogger("connector").setLevel(logging.ERROR)  # as quiet as a server whose log goes nowhere
    settings = load_settings(None, environ={}, data_dir=work / "profile", delivery={"enabled": False})
    runtime = build_runtime(settings)
    app = ConnectorApp(runtime)
    passwords = {system: generate_password() for system in SYSTEMS}
    admin = CredentialAdmin(runtime.store, runtime.authenticator.box)
    for system, password in passwords.items():
        admin.set_password(system, password)
    env = Envelopes(settings.effective_keys_dir, passwords, HOST)
    tags = [f"profile-{n}-{os.urandom(3).hex()}" for n in range(5 + UNPROFILED + sends)]
    requests = [env.send_document(tag, env.send_package(tag)) for tag in tags]

    def call(request: Request) -> None:
        head, body = request.data.split(b"\r\n\r\n", 1)
        environ: dict = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/soap",
            "CONTENT_TYPE": "text/xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_SOAPACTION": f'"{request.operation}"',
            "REMOTE_ADDR": HOST,
            "wsgi.input": io.BytesIO(body),
        }
        setup_testing_defaults(environ)
        status: list[str] = []
        b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"profiled send answered {status[0]}")

    for request in requests[:5]:
        call(request)
    plain = requests[5 : 5 + UNPROFILED]
    started = time.perf_counter()
    for request in plain:
        call(request)
    unprofiled = (time.perf_counter() - started) / len(plain)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for request in requests[5 + UNPROFILED :]:
        call(request)
    profiler.disable()
    elapsed = time.perf_counter() - started
    # Spyne runs a full gc.collect() at most once a second, when a request's context closes
    # (spyne.context.MethodContext.close, spyne.const.MIN_GC_INTERVAL): what one costs here.
    objects = len(gc.get_objects())
    collect = min(timeit.repeat(gc.collect, number=1, repeat=3))
    runtime.close()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [
        (profile_location(filename, line, function, ROOT), calls / sends, own * 1e6 / sends, cum * 1e6 / sends)
        for (filename, line, function), (_, calls, own, cum, _) in stats.items()
    ]
    run.profile = sorted(rows, key=lambda r: r[2], reverse=True)[:top]
    ours = [r for r in rows if r[0].startswith(("connector/", "signing/"))]
    run.profile_ours = sorted(ours, key=lambda r: r[3], reverse=True)[:top]
    run.note(
        f"profile: in-process (the WSGI callable, no HTTP, one at a time) a 7 KB send took "
        f"{unprofiled * 1000:.2f} ms without the profiler ({UNPROFILED} sends), {elapsed / sends * 1000:.2f} ms "
        f"under cProfile ({sends} sends)"
    )
    run.note(
        f"profile: Spyne's once-a-second gc.collect() (spyne/context.py, MethodContext.close) took "
        f"{collect * 1000:.0f} ms in the profiling process ({objects:,} objects tracked; the benchmark's own "
        "objects included), during which no other request runs"
    )


# ---- main ------------------------------------------------------------------------------------


def run_target(run: Run, start: Callable[[], Target], single: bool) -> None:
    target = start()
    try:
        exercise(run, target, single)
    finally:
        target.server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case (default 10)")
    parser.add_argument("--connections", type=int, default=4, help="keep-alive client connections (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server process (default 8)")
    parser.add_argument("--large-sends", type=int, default=3, help="20 MiB sends per server (default 3)")
    parser.add_argument("--max-rate", type=float, default=300, help="connector requests/s to prepare for")
    parser.add_argument("--bare-rate", type=float, default=2000, help="baseline requests/s to prepare for")
    parser.add_argument("--read-rate", type=float, default=600, help="getStatus requests/s to prepare for")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s per case, one 20 MiB send")
    parser.add_argument("--no-write", dest="write", action="store_false", help=f"print only, leave {DOC.name}")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite only")
    parser.add_argument("--ceiling", action="store_true", help="also 8 concurrent ~90 MB requests (slow)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the 7 KB send in-process")
    options = parser.parse_args()
    if options.quick:
        options.duration = min(options.duration, 2.0)
    run = Run(options)
    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    threads = options.threads
    try:
        if options.profile:  # first: this process's heap is at its smallest (see the gc.collect note)
            profile_small(run, work)
        run_target(run, lambda: start_bare(work, threads), single=True)
        run_target(run, lambda: start_connector(work, "SQLite, 1 process", threads, None, 1), single=True)
        if options.ceiling:
            target = start_connector(work, "SQLite, ceiling", threads, None, 1)
            try:
                print(f"{target.label}:", flush=True)
                case_ceiling(run, target)
            finally:
                target.server.stop()
        if options.postgres:
            with postgres_database("") as url:
                if url:
                    run_target(run, lambda: start_connector(work, "PostgreSQL, 1 process", threads, url, 1), True)
        if workers_supported():
            run_target(run, lambda: start_connector(work, "SQLite, 2 processes", threads, None, 2), single=False)
            if options.postgres:
                with postgres_database("_w2") as url:
                    if url:
                        run_target(
                            run, lambda: start_connector(work, "PostgreSQL, 2 processes", threads, url, 2), False
                        )
        else:
            run.note("several processes: skipped - `server.py --help` shows no `--workers` option in this checkout")
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    text = report(run)
    print()
    print(text)
    if run.profile:
        print("\n(profile above: top functions by own time per send)")
    if options.write:
        DOC.write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
