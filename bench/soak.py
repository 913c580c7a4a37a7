"""A bounded soak of the whole system, with a partner outage, ending in a verdict.

The connector (``server.py``) and both simulators (``python -m simulators ...``, document
management on autopilot) run as separate processes on 127.0.0.1. ``--clients`` one-stop clerks
press "send" on the one-stop simulator (``POST /actions/send``): mostly small dossiers, some with
a 2–5 MB file, now and then a take-back. At ``--outage-at`` seconds the ``--stop`` simulator is
stopped for ``--outage`` seconds, then started again on the same port and data. Every
``--every`` seconds a table row: the connector's RSS, threads and open files, client requests,
faults, p50/p95 of the send button, outbox pending/in flight/dead, delivered, database size.

After ``--minutes`` the clerks stop and the soak waits (at most ``--drain-timeout``) until every
dossier is finished or taken back and the outbox is empty, then checks: nothing lost (every
accepted send reached the agency and its dossier got its outcome), nothing twice (each outbox
item delivered once, one document per exchange at the agency), backlog drained, no dead letters,
and the time from the partner's return until its backlog was back to normal.

``--drain N`` measures instead how fast a backlog of N documents drains when the document-
management system comes back (it is down while they are queued – dossiers received at the
one-stop simulator, packages sent straight to sendDocument; autopilot off), with the CPU
seconds each process used meanwhile: a partner at a full core while the connector is not is a
rate limited by the partner. Bounded in time and to 127.0.0.1; results in docs/benchmarks-soak.md.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 4] [--outage-at 180] [--outage 120]
    .venv/bin/python bench/soak.py --drain 10000
    .venv/bin/python bench/soak.py --bad-day [--minutes 6] [--db-outage-at 60] [--outage-at 120] [--restart-at 240]

``--bad-day`` (``bench/badday.py``): the connector in two processes on a private PostgreSQL,
through a database outage, a partner outage and a rolling restart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import zeep
from common import MiB, free_port, machine, markdown_table
from sqlalchemy import text
from zeep.transports import Transport

from connector.clock import utcnow
from connector.edxml import build
from connector.serving.runtime import SAMPLE_DIRECTORY
from connector.store import Store
from signing import init_dev_keys, sign_package
from simulators import guide

ROOT = Path(__file__).resolve().parents[1]

PYTHON = sys.executable
PUSH = ("eoffice-stp", "igate-hungyen")
SIM_OF = {"docmgmt": "eoffice-stp", "onestop": "igate-hungyen"}


def proc_status(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"),
    }


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout:g} s")


@dataclass
class Stack:
    """The three processes and where their data lives."""

    work: Path
    autopilot: float | None
    ports: dict[str, int] = field(default_factory=lambda: {k: free_port() for k in ("connector", "docmgmt", "onestop")})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def connector_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['connector']}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        directory = json.loads(SAMPLE_DIRECTORY.read_text(encoding="utf-8"))
        for system in directory["systems"]:
            sim = {v: k for k, v in SIM_OF.items()}.get(system["system_id"])
            if sim:
                system["endpoint"] = f"{self.url(sim)}/soap"
        (self.work / "directory.json").write_text(json.dumps(directory, ensure_ascii=False))
        (self.work / "connector.toml").write_text(self.config_text())
        self._spawn("connector", self.connector_argv())
        wait_for(f"{self.connector_url}/soap?wsdl")
        self.after_connector()
        for name in ("docmgmt", "onestop"):
            self.start_simulator(name)

    def config_text(self) -> str:
        return f'directory_file = "{self.work / "directory.json"}"\n[delivery]\npoll_interval = 0.2\n'

    def connector_argv(self) -> list[str]:
        port, data = str(self.ports["connector"]), str(self.work / "connector")
        return ["server.py", "--port", port, "--data-dir", data, "--config", str(self.work / "connector.toml")]

    def after_connector(self) -> None:
        """Set-up once the connector answers (the bad day sets the simulators' passwords)."""

    def simulator_env(self, name: str) -> dict[str, str]:
        return {}

    def start_simulator(self, name: str) -> None:
        argv = ["-m", "simulators", name, "--port", str(self.ports[name]), "--connector", self.connector_url]
        argv += ["--data-dir", str(self.work / name), "--keys-dir", str(self.work / "connector" / "keys")]
        if name == "docmgmt" and self.autopilot:
            argv += ["--autopilot", str(self.autopilot)]
        self._spawn(name, argv, self.simulator_env(name))
        wait_for(f"{self.url(name)}/soap?wsdl")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.work / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [PYTHON, *argv], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ | (env or {})
        )

    def store(self) -> Store:
        return Store(f"sqlite:///{self.work / 'connector' / 'connector.db'}")

    def sim_db(self, name: str) -> sqlite3.Connection:
        path = self.work / name / f"{name}.db"
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def db_size_mib(self) -> float:
        files = [self.work / "connector" / f"connector.db{suffix}" for suffix in ("", "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / MiB


@dataclass
class Clerks:
    """``n`` one-stop clerks pressing buttons on the one-stop simulator until ``stop`` is set."""

    stack: Stack
    n: int
    large_share: float = 0.1
    take_back_share: float = 0.05
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)  # seconds, since the last row
    requests: int = 0
    faults: list[str] = field(default_factory=list)
    refused: int = 0  # take-backs of dossiers the agency had already finished
    accepted: dict[str, str] = field(default_factory=dict)  # message id -> dossier code
    taken_back: set[str] = field(default_factory=set)

    def run(self, count: int | None = None, think: tuple[float, float] = (0.5, 1.5)) -> None:
        """Press until stopped, or ``count`` sends in all."""
        numbers = iter(range(count)) if count is not None else None
        threads = [threading.Thread(target=self._clerk, args=(k, numbers, think), daemon=True) for k in range(self.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _clerk(self, k: int, numbers, think: tuple[float, float]) -> None:
        rng = random.Random(k)
        session = requests.Session()
        session.trust_env = False
        mine: list[str] = []
        n = 0
        while not self.stop.is_set():
            if numbers is not None:
                with self.lock:
                    n = next(numbers, None)
                if n is None:
                    return
            else:
                n += 1
            if mine and rng.random() < self.take_back_share:
                code = mine.pop(rng.randrange(len(mine)))
                self._press(session, "take_back", {"code": code}, code)
            else:
                code = f"SOAK-{k}-{n:06d}"
                padding = rng.randint(2 * MiB, 5 * MiB) if rng.random() < self.large_share else 0
                kind = "OUTGOING" if rng.random() < 0.2 else "INCOMING"
                body = {"code": code, "onestop_number": str(10_000_000 * (k + 1) + n), "kind": kind}
                if self._press(session, "send", body | {"file_padding": padding}, code):
                    mine.append(code)
            if numbers is None:
                self.stop.wait(rng.uniform(*think))

    def _press(self, session: requests.Session, action: str, body: dict, code: str) -> bool:
        started = time.monotonic()
        try:
            answer = session.post(f"{self.stack.url('onestop')}/actions/{action}", json=body, timeout=600)
            result = answer.json()
            ok = answer.status_code == 200 and result.get("outcome") == "delivered"
            if action == "take_back" and str(result.get("error", "")).startswith("Client.IllegalTransition"):
                with self.lock:  # the agency finished it first: a refusal the contract promises, not a fault
                    self.refused += 1
                    self.requests += 1
                return False
            problem = None if ok else f"{action} {code}: {answer.status_code} {result}"
        except (requests.RequestException, ValueError) as exc:
            ok, result, problem = False, {}, f"{action} {code}: {exc}"
        with self.lock:
            self.requests += 1
            self.latencies.append(time.monotonic() - started)
            if problem:
                self.faults.append(problem)
            elif action == "send":
                self.accepted[result["message_id"]] = code
            else:
                self.taken_back.add(code)
        return ok

    def take_latencies(self) -> list[float]:
        with self.lock:
            taken, self.latencies = self.latencies, []
        return taken


def outbox(store: Store) -> dict[str, int]:
    totals = {"pending": 0, "in_flight": 0, "dead": 0, "delivered": 0}
    for s in store.outbox_stats(utcnow()):
        if s.system_id not in PUSH:
            continue
        if s.state in ("pending", "dead", "delivered"):
            totals[s.state] += s.count
        totals["in_flight"] += s.in_flight
    return totals


def pending_of(store: Store, system_id: str) -> int:
    return sum(
        s.count - s.in_flight for s in store.outbox_stats(utcnow()) if (s.system_id, s.state) == (system_id, "pending")
    )


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.0f}" if len(values) > 1 else f"{values[0] * 1000:.0f}"


class Table:
    HEADERS = ["t (s)", "RSS MiB", "threads", "fds", "requests", "faults", "p50 ms", "p95 ms", "pending",
               "in flight", "dead", "delivered", "DB MiB", "note"]  # fmt: skip

    def __init__(self) -> None:
        self.rows: list[list[object]] = []

    def add(self, t: float, stack: Stack, clerks: Clerks, store: Store, note: str) -> None:
        p = proc_status(stack.processes["connector"].pid)
        box, lat = outbox(store), clerks.take_latencies()
        row = [f"{t:.0f}", f"{p['rss_mib']:.0f}", p["threads"], p["fds"], clerks.requests, len(clerks.faults),
               pct(lat, 50), pct(lat, 95), box["pending"], box["in_flight"], box["dead"], box["delivered"],
               f"{stack.db_size_mib():.1f}", note]  # fmt: skip
        self.rows.append(row)
        widths = [max(len(str(x)), len(h)) for x, h in zip(row, self.HEADERS, strict=True)]
        if len(self.rows) == 1:
            print("  ".join(h.rjust(w) for h, w in zip(self.HEADERS, widths, strict=True)), flush=True)
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)), flush=True)


def soak(args: argparse.Namespace, stack: Stack) -> int:
    clerks = Clerks(stack, args.clients)
    store = stack.store()
    table = Table()
    events: dict[str, float] = {}
    drained_at: list[float] = []
    started = time.monotonic()

    def elapsed() -> float:
        return time.monotonic() - started

    def watch_drain() -> None:  # how long the stopped partner's backlog takes to come back to normal
        system = SIM_OF[args.stop]
        while "restarted" not in events:
            time.sleep(1)
        while not drained_at and elapsed() < args.minutes * 60 + args.drain_timeout:
            if pending_of(store, system) <= args.clients:
                drained_at.append(elapsed())
            time.sleep(1)

    threading.Thread(target=clerks.run, daemon=True).start()
    threading.Thread(target=watch_drain, daemon=True).start()
    next_row, end = args.every, args.minutes * 60
    while elapsed() < end:
        note = ""
        if "stopped" not in events and elapsed() >= args.outage_at:
            stack.stop(args.stop)
            events["stopped"] = elapsed()
            note = f"{args.stop} stopped"
        if "stopped" in events and "restarted" not in events and elapsed() >= args.outage_at + args.outage:
            stack.start_simulator(args.stop)
            events["restarted"] = elapsed()
            note = f"{args.stop} back"
        if note or elapsed() >= next_row:
            table.add(elapsed(), stack, clerks, store, note)
            next_row = (elapsed() // args.every + 1) * args.every
        time.sleep(0.5)
    clerks.stop.set()
    table.add(elapsed(), stack, clerks, store, "clerks stop")
    settled = settle(stack, clerks, store, table, elapsed, args.drain_timeout)
    verdict = check(stack, clerks, store, settled)
    if drained_at:
        verdict.append(f"time to drain: {drained_at[0] - events['restarted']:.0f} s after {args.stop} came back "
                       f"(its pending items back to <= {args.clients})")  # fmt: skip
    else:
        verdict.append(f"FAIL time to drain: {args.stop}'s backlog never came back to normal")
    report(args, table, verdict, events)
    return 0 if not any(v.startswith("FAIL") for v in verdict) else 1


def settle(
    stack: Stack, clerks: Clerks, store: Store, table: Table, elapsed: Callable[[], float], timeout: float
) -> bool:
    """Wait until every accepted dossier is finished or taken back and the outbox is empty."""
    deadline, next_row = time.monotonic() + timeout, elapsed() + 30
    while time.monotonic() < deadline:
        with stack.sim_db("onestop") as db:
            open_ = db.execute(
                "SELECT count(*) FROM dossiers WHERE code LIKE 'SOAK-%' AND state NOT IN ('finished', 'taken_back')"
            ).fetchone()[0]
        box = outbox(store)
        if open_ == 0 and box["pending"] == 0 and box["in_flight"] == 0:
            table.add(elapsed(), stack, clerks, store, "settled")
            return True
        if elapsed() >= next_row:
            table.add(elapsed(), stack, clerks, store, f"settling: {open_} dossiers open")
            next_row += 30
        time.sleep(2)
    table.add(elapsed(), stack, clerks, store, "gave up waiting")
    return False


def check(stack: Stack, clerks: Clerks, store: Store, settled: bool) -> list[str]:
    verdict = []

    def say(ok: bool, text: str) -> None:
        verdict.append(("ok   " if ok else "FAIL ") + text)

    with store.engine.connect() as conn:
        twice = conn.exec_driver_sql(
            "SELECT count(*) FROM (SELECT item_id FROM attempts WHERE outcome = 'delivered' "
            "GROUP BY item_id HAVING count(*) > 1) AS t"
        ).scalar()
        documents = conn.exec_driver_sql(
            "SELECT exchange_id FROM outbox WHERE operation = 'deliverDocument' AND state = 'delivered'"
        ).all()
        known = text("SELECT 1 FROM exchanges WHERE exchange_id = :m")  # SQLite or PostgreSQL (--bad-day)
        missing = [m for m in clerks.accepted if conn.execute(known, {"m": m}).first() is None]
    with stack.sim_db("docmgmt") as db:
        at_agency = {r[0] for r in db.execute("SELECT exchange_id FROM documents")}
        received = db.execute("SELECT count(*) FROM received_messages").fetchone()[0]
    with stack.sim_db("onestop") as db:
        query = "SELECT state, count(*) FROM dossiers WHERE code LIKE 'SOAK-%' GROUP BY state"
        states = dict(db.execute(query).fetchall())
    box = outbox(store)
    sent = len(clerks.accepted)
    say(not missing and set(clerks.accepted) <= at_agency,
        f"nothing lost: {sent} accepted sends, {len(set(clerks.accepted) & at_agency)} at the agency, "
        f"{len(missing)} unknown to the connector; dossiers by state {states}")  # fmt: skip
    say(twice == 0 and len(documents) == len(at_agency),
        f"nothing twice: {twice} items delivered more than once; {len(documents)} documents delivered, "
        f"{len(at_agency)} at the agency ({received} messages it took)")  # fmt: skip
    say(settled and box["pending"] == 0, f"backlog drained: {box['pending']} pending, {box['in_flight']} in flight")
    say(box["dead"] == 0, f"dead letters: {box['dead']}")
    say(not clerks.faults, f"client faults: {len(clerks.faults)} {clerks.faults[:3]}; "
        f"{clerks.refused} take-backs refused because the dossier was already finished")  # fmt: skip
    return verdict


def report(args: argparse.Namespace, table: Table, verdict: list[str], events: dict[str, float]) -> None:
    print("\nVerdict:")
    for line in verdict:
        print("  " + line)
    if args.markdown:
        lines = [f"- {k}: {v}" for k, v in machine().items()]
        lines += [
            f"- {args.minutes:g} min, {args.clients} clerks, {args.stop} stopped at {events.get('stopped', 0):.0f} s "
            f"for {args.outage:g} s",
            "",
            markdown_table(Table.HEADERS, table.rows, "r" * (len(Table.HEADERS) - 1) + "l"),
            "",
            *[f"- {line}" for line in verdict],
        ]
        Path(args.markdown).write_text("\n".join(lines) + "\n", encoding="utf-8")


def queue_directly(stack: Stack, n: int, threads: int) -> int:
    """``n`` dossiers received at the one-stop simulator and sent straight to the connector's
    sendDocument by ``threads`` senders (the simulator's own sender goes one call at a time, too
    slow to queue 10,000 documents in a benchmark's time); returns the faults."""
    identity = init_dev_keys(stack.work / "connector" / "keys").identity(guide.ONESTOP.organ_id)
    numbers, lock, faults = iter(range(n)), threading.Lock(), []

    def sender() -> None:
        session = requests.Session()
        session.trust_env = False
        transport = Transport(session=session, timeout=10, operation_timeout=120)
        client = zeep.Client(f"{stack.connector_url}/soap?wsdl", transport=transport)
        while True:
            with lock:
                k = next(numbers, None)
            if k is None:
                return
            code, number = f"DRAIN-{k:06d}", str(20_000_000 + k)
            try:
                session.post(f"{stack.url('onestop')}/actions/receive", json={"code": code, "onestop_number": number},
                             timeout=60).raise_for_status()  # fmt: skip
                dossier = guide.Dossier(code, number, "Nguyễn Văn An", "cbtiepnhan")
                package = sign_package(build(guide.send_package(dossier)), identity)
                client.service.sendDocument(
                    messageId=str(uuid.uuid4()), package=package, kind="INCOMING", senderUsername="cbtiepnhan",
                    dossier={"dossierCode": code, "procedureCode": guide.PROCEDURE_CODE, "onestopNumber": number,
                             "procedureName": guide.PROCEDURE_NAME, "applicant": dossier.applicant},
                )  # fmt: skip
            except (requests.RequestException, zeep.exceptions.Error) as exc:
                with lock:
                    faults.append(f"{code}: {exc}")

    workers = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(faults)


def drain(args: argparse.Namespace, stack: Stack) -> int:
    """A backlog of ``--drain`` documents for the document-management system, which then comes back."""
    stack.stop("docmgmt")
    store = stack.store()
    started = time.monotonic()
    faults = queue_directly(stack, args.drain, args.clients)
    built = time.monotonic() - started
    backlog = pending_of(store, "eoffice-stp")
    print(f"backlog: {backlog} documents queued for eoffice-stp in {built:.0f} s ({faults} faults)", flush=True)
    before = {name: proc_status(p.pid)["cpu_s"] for name, p in stack.processes.items()}
    stack.start_simulator("docmgmt")
    before["docmgmt"] = proc_status(stack.processes["docmgmt"].pid)["cpu_s"]
    back = time.monotonic()
    samples: list[tuple[float, int]] = []
    while time.monotonic() - back < args.drain_timeout:
        left = pending_of(store, "eoffice-stp") + sum(
            s.in_flight for s in store.outbox_stats(utcnow()) if s.system_id == "eoffice-stp")  # fmt: skip
        samples.append((time.monotonic() - back, left))
        if left == 0:
            break
        time.sleep(1)
    seconds = samples[-1][0]
    cpu = {name: proc_status(p.pid)["cpu_s"] - before[name] for name, p in stack.processes.items()}
    marks = samples[::10]
    rates = [(left_a - left_b) / (b - a) for (a, left_a), (b, left_b) in zip(marks, marks[1:], strict=False)]
    # The breaker opened while the partner was down: nothing moves until its next probe (<= probe_interval).
    first = next(t for t, left in samples if left < backlog)
    print(
        f"drained {backlog} documents in {seconds:.0f} s; the first went out {first:.0f} s after the partner came back"
    )
    print(f"rate from the first delivery on: {backlog / max(seconds - first, 1e-9):.1f} items/s")
    print("items/s per 10 s: " + ", ".join(f"{r:.0f}" for r in rates))
    print("CPU during the drain (share of one core): " + ", ".join(f"{n} {c / seconds:.0%}" for n, c in cpu.items()))
    with store.engine.connect() as conn:
        dead = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE state = 'dead'").scalar()
    print(f"dead letters: {dead}")
    for key, value in machine().items():
        print(f"- {key}: {value}")
    return 0 if samples[-1][1] == 0 and dead == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--outage-at", type=float, default=180, help="seconds into the run")
    parser.add_argument("--outage", type=float, default=120, help="seconds the simulator stays stopped")
    parser.add_argument("--stop", choices=list(SIM_OF), default="docmgmt", help="which simulator the outage stops")
    parser.add_argument("--every", type=float, default=30, help="seconds between table rows")
    parser.add_argument("--autopilot", type=float, default=2.0, help="the document-management staff's pace (s)")
    parser.add_argument("--drain-timeout", type=float, default=900, help="seconds to wait for the backlog at the end")
    parser.add_argument("--drain", type=int, metavar="N", help="measure the drain of N documents instead of soaking")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table and verdict as Markdown")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--bad-day", action="store_true", help="PostgreSQL outage, partner outage, rolling restart")
    parser.add_argument("--db-outage-at", type=float, default=60, help="--bad-day: seconds into the run")
    parser.add_argument("--db-outage", type=float, default=30, help="--bad-day: seconds PostgreSQL stays stopped")
    parser.add_argument("--restart-at", type=float, default=240, help="--bad-day: the rolling restart, seconds in")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    if args.bad_day:
        from badday import BadDayStack  # bench/badday.py

        stack: Stack = BadDayStack(work, args.autopilot, free_port())
    else:
        stack = Stack(work, None if args.drain else args.autopilot)
    print(f"working directory {work}", flush=True)
    try:
        stack.start()
        if args.bad_day:
            from badday import bad_day

            return bad_day(args, stack)  # type: ignore[arg-type]
        return drain(args, stack) if args.drain else soak(args, stack)
    finally:
        stack.close()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main())
