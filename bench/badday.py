"""``bench/soak.py --bad-day``: the soak's clerks and simulators through a bad day, then a verdict.

The connector runs as ``server.py --workers 2`` on a private PostgreSQL (initdb into the working
directory, on a free port); the clerks press "send" on the one-stop simulator throughout. On the
way (seconds into the run, each configurable):

1. ``--db-outage-at``: PostgreSQL is stopped (``pg_ctl -m immediate``) for ``--db-outage`` seconds;
2. ``--outage-at``: the document-management simulator is stopped for ``--outage`` seconds;
3. ``--restart-at``: a rolling restart – SIGTERM to one child, wait until the supervisor has
   started it again, then the other; and a SIGKILL of a child (a crash) 20 s later.

Then the soak's checks (nothing lost, nothing twice, backlog drained, no dead letters) plus the
bad day's own: every send a clerk saw fail during the outages (``Server.StoreUnavailable``, a
refused connection) reached the connector later with the same message id (the simulator re-sends
it), the log lines per minute of database outage, and the time to drain the partner's backlog.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from soak import PYTHON, ROOT, SIM_OF, Clerks, Stack, Table, check, pending_of, report, settle, wait_for

from connector.errors import StoreUnavailableError
from connector.store import Store

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def as_postgres(*command: str) -> list[str]:
    """PostgreSQL's tools refuse to run as root: as the ``postgres`` user, then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class PrivatePostgres:
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.parent.chmod(0o755)
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.root / "db"), "-A", "trust", "-U", "postgres"]
        subprocess.run(as_postgres(*initdb), check=True, capture_output=True)
        self.ctl("-l", str(self.root / "pg.log"), "start")

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.root / "db"), "-w", "-o", options, *args]
        subprocess.run(as_postgres(*command), check=True, capture_output=True, timeout=120)


class BadDayStack(Stack):
    """The soak's stack with the connector on PostgreSQL and in two worker processes."""

    def __init__(self, work: Path, autopilot: float | None, pg_port: int) -> None:
        super().__init__(work, autopilot)
        self.pg = PrivatePostgres(work / "pg", pg_port)
        self.passwords = {
            "eoffice-stp": "docmgmt-" + os.urandom(8).hex(),
            "igate-hungyen": "onestop-" + os.urandom(8).hex(),
        }

    def start(self) -> None:
        self.pg.init()
        super().start()

    def config_text(self) -> str:
        directory = self.work / "directory.json"
        return (
            f'data_dir = "{self.work / "connector"}"\ndirectory_file = "{directory}"\n'
            f'database_url = "{self.pg.url}"\nauto_migrate = "always"\n'
            "[delivery]\noutage_summary_interval = 15.0\n"
        )

    def connector_argv(self) -> list[str]:
        return [*super().connector_argv(), "--workers", "2"]

    def after_connector(self) -> None:
        for system_id, password in self.passwords.items():
            subprocess.run(
                [PYTHON, "-m", "connector", "credentials", "set", system_id, "--password-stdin",
                 "--config", str(self.work / "connector.toml")],
                cwd=ROOT, input=password + "\n", text=True, check=True, capture_output=True,
            )  # fmt: skip

    def simulator_env(self, name: str) -> dict[str, str]:
        return {"SIM_CONNECTOR_PASSWORD": self.passwords[SIM_OF[name]]}

    def close(self) -> None:
        super().close()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.pg.ctl("-m", "immediate", "stop")

    def store(self) -> Store:
        return Store(self.pg.url)

    def db_size_mib(self) -> float:
        with self.store().engine.connect() as conn:
            return conn.exec_driver_sql("SELECT pg_database_size('postgres')").scalar() / 2**20

    def children(self) -> list[int]:
        """The supervisor's children (``--listen-fd``), from /proc."""
        parent = self.processes["connector"].pid
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(pid))
            except (OSError, ValueError, IndexError):
                continue
        return sorted(found)

    def log(self) -> list[str]:
        return (self.work / "connector.log").read_text(encoding="utf-8", errors="replace").splitlines()

    def log_lines(self) -> int:
        return len(self.log())


def rolling_restart(stack: BadDayStack, say) -> None:
    for pid in stack.children():
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (pid in stack.children() or len(stack.children()) < 2):
            time.sleep(0.2)
        say(f"child {pid} stopped and replaced")
    wait_for(f"{stack.connector_url}/health/live")


def bad_day(args: argparse.Namespace, stack: BadDayStack) -> int:
    clerks = Clerks(stack, args.clients)
    store = stack.store()
    table = Table()
    events: dict[str, float] = {}
    lines: dict[str, int] = {}
    started = time.monotonic()

    def elapsed() -> float:
        return time.monotonic() - started

    def say(note: str) -> None:
        try:
            table.add(elapsed(), stack, clerks, store, note)
        except StoreUnavailableError:  # the bench reads the same database: no figures while it is down
            row = [f"{elapsed():.0f}", *["-"] * (len(Table.HEADERS) - 2), f"{note} (no figures: database down)"]
            table.rows.append(row)
            print("  ".join(str(x) for x in row), flush=True)

    def drained() -> bool:
        try:
            return pending_of(store, SIM_OF[args.stop]) <= args.clients
        except StoreUnavailableError:
            return False

    threading.Thread(target=clerks.run, daemon=True).start()
    drained_at: list[float] = []
    plan = [
        (args.db_outage_at, "db down"),
        (args.db_outage_at + args.db_outage, "db up"),
        (args.outage_at, "partner down"),
        (args.outage_at + args.outage, "partner up"),
        (args.restart_at, "rolling restart"),
        (args.restart_at + 20, "child killed"),
    ]
    next_row, end = args.every, args.minutes * 60
    while elapsed() < end:
        for at, event in plan:
            if event in events or elapsed() < at:
                continue
            events[event] = elapsed()
            if event == "db down":
                lines["db down"] = stack.log_lines()
                stack.pg.ctl("-m", "immediate", "stop")
            elif event == "db up":
                stack.pg.ctl("-l", str(stack.pg.root / "pg.log"), "start")
                time.sleep(args.every / 3)  # the "available again" lines come with the next polls
                lines["db up"] = stack.log_lines()
            elif event == "partner down":
                stack.stop(args.stop)
            elif event == "partner up":
                stack.start_simulator(args.stop)
            elif event == "rolling restart":
                rolling_restart(stack, say)
            elif event == "child killed":
                os.kill(stack.children()[0], signal.SIGKILL)
            say(event)
        if "partner up" in events and not drained_at and drained():
            drained_at.append(elapsed())
        if elapsed() >= next_row:
            say("")
            next_row = (elapsed() // args.every + 1) * args.every
        time.sleep(0.5)
    clerks.stop.set()
    say("clerks stop")
    settled = settle(stack, clerks, store, table, elapsed, args.drain_timeout)
    # A send the clerk saw fail in an outage (or queued behind one that did: outcome "pending") is
    # re-sent by the simulator with the same message id: not lost, not a fault.
    deferred = [f for f in clerks.faults if any(m in f for m in ("StoreUnavailable", "Connection", "'pending'"))]
    clerks.faults = [f for f in clerks.faults if f not in deferred]
    verdict = check(stack, clerks, store, settled)
    with stack.sim_db("onestop") as db:
        calls = dict(db.execute("SELECT outcome, count(*) FROM connector_calls GROUP BY outcome").fetchall())
        refusals = "outcome = 'rejected' AND error NOT LIKE 'Client.IllegalTransition%'"  # a late take-back is no fault
        rejected = db.execute(f"SELECT count(*) FROM connector_calls WHERE {refusals}").fetchone()[0]
    verdict.append(
        ("ok   " if not calls.get("pending") and not rejected else "FAIL ")
        + f"sends the clerks saw fail in an outage: {len(deferred)}, all re-sent by the simulator with the same "
        f"message id (its calls by outcome: {calls})"
    )
    outage_minutes = args.db_outage / 60
    window = stack.log()[lines.get("db down", 0) : lines.get("db up", 0)]
    requests = sum(" connector.request: " in line for line in window)
    verdict.append(
        f"log lines during the {args.db_outage:g} s database outage, both worker processes: {len(window)} "
        f"({len(window) / outage_minutes:.0f} per minute), of which {requests} are the one line per refused "
        f"request and {len(window) - requests} the rest ({(len(window) - requests) / outage_minutes:.0f} per minute)"
    )
    if drained_at:
        verdict.append(f"time to drain: {drained_at[0] - events['partner up']:.0f} s after {args.stop} came back")
    else:
        verdict.append(f"FAIL time to drain: {args.stop}'s backlog never came back to normal")
    report(args, table, verdict, events)
    return 0 if not any(v.startswith("FAIL") for v in verdict) else 1
