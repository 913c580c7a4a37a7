"""Scale-out with real parts: two connector processes (``server.py``, one PostgreSQL database)
behind HAProxy, both partner simulators running, and client threads sending dossiers and their
statuses through the balancer while one connector is killed with SIGKILL and started again.

A client resends a request that got no answer (connection error, HAProxy's 502/503/504) or a
``Server.*`` fault with the same message id and the same signed package: the connector is
idempotent by message id and answers a repeat with the original receipt. Afterwards, once the
outbox has drained: every request was answered, every exchange reached the document-management
simulator and every status the one-stop simulator (nothing lost), each exactly once (nothing
delivered twice), and every exchange's timeline is a legal walk of the state machine.

The document-management simulator's own status reports would race the statuses the clients send
as the agency, so its link to the connector points at a closed port (they stay queued there).
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, func, select

from connector.auth.admin import CredentialAdmin, generate_password
from connector.auth.secretbox import SecretBox
from connector.edxml import StatusCode, build
from connector.exchange.states import ExchangeState, next_state
from connector.store import Store, tables
from signing import load_dev_keys, sign_package
from simulators import guide
from testkit.faults import SOAP11_ENV, TNS, detail_code
from testkit.live import AGENCY, ONESTOP, LiveConnector
from testkit.net import free_port, new_id, wait_until
from testkit.processes import ROOT, start
from testkit.rawsoap import b64, envelope
from tests.scale.conftest import require_tool
from tests.scale.haproxy import HAPROXY, haproxy

DOSSIERS = 250  # each: sendDocument, then updateStatus 03, 04 and 05: 1,000 requests
CLIENT_THREADS = 6
STATUSES = (StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS)  # registered, assigned, in progress
FINAL_STATE = ExchangeState.IN_PROGRESS


@dataclass(frozen=True)
class Request:
    system_id: str
    message_id: str
    body: str  # the SOAP body; each attempt gets a fresh UsernameToken (nonces are single-use)
    expected_state: ExchangeState


@dataclass
class Tally:
    answered: dict[str, str] = field(default_factory=dict)  # message id -> the receipt's state
    retries: Counter[str] = field(default_factory=Counter)  # why requests were sent again
    refused: list[str] = field(default_factory=list)  # Client faults: never expected here
    lock: threading.Lock = field(default_factory=threading.Lock)


def dossier(n: int) -> guide.Dossier:
    return guide.Dossier(f"SCALE-{n:05d}", f"90{n:05d}", "Nguyễn Văn An", "cbtiepnhan")


def requests_for(n: int, onestop_key, agency_key) -> list[Request]:
    """One dossier's requests, in the order they must be sent: its document, then its statuses."""
    d = dossier(n)
    package = b64(sign_package(build(guide.send_package(d)), onestop_key))
    send_id = new_id()
    send = (
        f"<c:sendDocument><c:messageId>{send_id}</c:messageId><c:edxmlPackage>{package}</c:edxmlPackage>"
        "<c:kind>INCOMING</c:kind><c:senderUsername>cbtiepnhan</c:senderUsername><c:dossier>"
        f"<c:dossierCode>{d.code}</c:dossierCode><c:procedureCode>{guide.PROCEDURE_CODE}</c:procedureCode>"
        f"<c:onestopNumber>{d.onestop_number}</c:onestopNumber></c:dossier></c:sendDocument>"
    )
    out = [Request(ONESTOP, send_id, send, ExchangeState.ACCEPTED)]
    for code in STATUSES:
        status = b64(sign_package(build(guide.status_package(code, d, datetime.now())), agency_key))
        message_id = new_id()
        body = (
            f"<c:updateStatus><c:messageId>{message_id}</c:messageId>"
            f"<c:edxmlPackage>{status}</c:edxmlPackage></c:updateStatus>"
        )
        out.append(Request(AGENCY, message_id, body, next_state(out[-1].expected_state, code).new_state))
    return out


def attempt(session: requests.Session, url: str, auth: LiveConnector, request: Request) -> tuple[str, str]:
    """One try: ("answered", state), ("retry", why) or ("refused", fault code)."""
    data = envelope(request.body, auth.security_header(request.system_id)).encode()
    try:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        answer = session.post(f"{url}/soap", data=data, timeout=60, headers=headers)
    except requests.RequestException as exc:
        return "retry", type(exc).__name__
    if not answer.headers.get("Content-Type", "").startswith("text/xml"):
        return "retry", f"HTTP {answer.status_code}"  # the balancer's own error page
    root = etree.fromstring(answer.content)
    fault = root.find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    if fault is not None:
        code = detail_code(fault.find("detail"))
        return ("retry" if code.startswith("Server.") else "refused"), code
    return "answered", root.findtext(f".//{{{TNS}}}state")


def client(url: str, auth: LiveConnector, work: list[list[Request]], tally: Tally) -> None:
    """One client thread: each dossier's requests in order, each resent until answered."""
    with requests.Session() as session:
        session.trust_env = False
        for dossier_requests in work:
            for request in dossier_requests:
                deadline = time.monotonic() + 60
                while True:
                    outcome, detail = attempt(session, url, auth, request)
                    if outcome != "retry":
                        break
                    with tally.lock:
                        tally.retries[detail] += 1
                    assert time.monotonic() < deadline, f"{request.message_id} unanswered for 60 s ({detail})"
                    time.sleep(0.1 + random.random() * 0.2)
                with tally.lock:
                    if outcome == "answered":
                        tally.answered[request.message_id] = detail
                    else:
                        tally.refused.append(f"{request.message_id}: {detail}")
                if outcome == "refused":
                    break  # the dossier's later statuses would be refused as well


def directory_with(docmgmt_port: int, onestop_port: int) -> dict:
    directory = json.loads((ROOT / "connector" / "data" / "sample-directory.json").read_text(encoding="utf-8"))
    endpoints = {AGENCY: docmgmt_port, ONESTOP: onestop_port}
    for system in directory["systems"]:
        if system["system_id"] in endpoints:
            system.update(endpoint=f"http://127.0.0.1:{endpoints[system['system_id']]}/soap", mode="push")
        else:
            system.update(endpoint=None, mode="pull")
    return directory


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# Its own work is ~70 CPU-seconds (the connectors ~45, the simulators ~18, the clients ~5): about
# 90-130 s measured on 2 cores that three other jobs kept busy (load average 5-6).
@pytest.mark.timeout(300)
def test_two_connectors_behind_haproxy_survive_a_sigkill_without_losing_or_doubling(tmp_path, postgres_url):
    require_tool(HAPROXY, "haproxy", "the load balancer in front of the connectors")
    started = time.monotonic()
    data, keys = tmp_path / "data", tmp_path / "data" / "keys"
    ports = [free_port(), free_port()]
    docmgmt_port, onestop_port, nowhere = free_port(), free_port(), free_port()
    (tmp_path / "directory.json").write_text(json.dumps(directory_with(docmgmt_port, onestop_port)), encoding="utf-8")
    configs = []
    for n, port in enumerate(ports, 1):
        # One data directory on this one machine: both nodes need the same keys and secret key.
        config = tmp_path / f"connector-{n}.toml"
        config.write_text(
            f'data_dir = "{data}"\nport = {port}\ndatabase_url = "{postgres_url}"\nauto_migrate = "always"\n'
            f'directory_file = "{tmp_path / "directory.json"}"\nevidence_sign_interval = 0\n'
            # Two delivery threads per partner and process; a killed process's claims return in 5 s.
            "[delivery]\nconcurrency = 2\npoll_interval = 0.2\nlease_seconds = 5.0\nbackoff_base = 0.2\n"
            "backoff_max = 1.0\n",
            encoding="utf-8",
        )
        configs.append(config)
    logs = iter(range(100))

    def connector(n: int) -> subprocess.Popen:
        return start(["server.py", "--config", str(configs[n])], tmp_path / f"connector-{n + 1}.{next(logs)}.log")

    processes: list[subprocess.Popen] = []
    try:
        # Both start at once on the empty database: the migrations are serialised by a lock.
        nodes = [connector(0), connector(1)]
        processes += nodes
        for port in ports:
            wait_until(lambda p=port: requests.get(f"http://127.0.0.1:{p}/health", timeout=1).ok, 60, "a connector")
        passwords = {ONESTOP: generate_password(), AGENCY: generate_password()}
        store = Store(postgres_url)
        admin = CredentialAdmin(store, SecretBox.load(data / "secret.key"))
        for system_id, password in passwords.items():
            admin.set_password(system_id, password)
        store.close()
        for system, port in (("docmgmt", docmgmt_port), ("onestop", onestop_port)):
            processes.append(
                start(
                    ["-m", "simulators", system, "--port", str(port), "--connector", f"http://127.0.0.1:{nowhere}"]
                    + ["--data-dir", str(tmp_path / system), "--keys-dir", str(keys)],
                    tmp_path / f"{system}.log",
                )
            )
            wait_until(lambda p=port: requests.get(f"http://127.0.0.1:{p}/", timeout=1).ok, 30, f"simulator {system}")
        # The one-stop counter received every dossier before it is sent (its statuses come back
        # to it); meanwhile the clients sign their packages.
        with ThreadPoolExecutor(2) as pool:
            receptions = pool.map(
                lambda n: (
                    requests.post(
                        f"http://127.0.0.1:{onestop_port}/actions/receive",
                        json={"code": dossier(n).code, "onestop_number": dossier(n).onestop_number},
                        timeout=30,
                    ).status_code
                ),
                range(DOSSIERS),
            )
            dev = load_dev_keys(keys)
            onestop_key, agency_key = dev.identity(guide.ONESTOP.organ_id), dev.identity(guide.AGENCY.organ_id)
            work = [requests_for(n, onestop_key, agency_key) for n in range(DOSSIERS)]
            assert set(receptions) == {200}
        total = sum(len(w) for w in work)
        assert total >= 1000
        prepared = time.monotonic()

        with haproxy(ports, tmp_path / "haproxy") as url:
            auth = LiveConnector(url, None, keys, passwords=dict(passwords))
            tally = Tally()
            threads = [
                threading.Thread(target=client, args=(url, auth, work[t::CLIENT_THREADS], tally), daemon=True)
                for t in range(CLIENT_THREADS)
            ]
            for thread in threads:
                thread.start()
            wait_until(lambda: len(tally.answered) >= total * 0.35, 120, "a third of the answers")
            nodes[0].send_signal(signal.SIGKILL)  # mid-run: requests and deliveries in flight on it
            nodes[0].wait(timeout=10)
            killed_at = len(tally.answered)
            time.sleep(1.0)
            nodes[0] = connector(0)
            processes.append(nodes[0])
            for thread in threads:
                thread.join(timeout=150)
            assert not any(t.is_alive() for t in threads), "clients still sending"
            sent = time.monotonic()

        assert killed_at < total
        assert tally.refused == []
        every = [r for w in work for r in w]
        assert len(tally.answered) == total  # every request answered, after retries
        assert {r.message_id: r.expected_state.value for r in every} == tally.answered

        engine = create_engine(postgres_url)
        try:
            o = tables.outbox

            def drained() -> bool:
                with engine.connect() as conn:
                    return conn.execute(select(func.count()).where(o.c.state != "delivered")).scalar() == 0

            wait_until(drained, 60, "the outbox to drain")
            with engine.connect() as conn:
                items = conn.execute(select(o.c.item_id, o.c.exchange_id, o.c.system_id, o.c.operation)).all()
                delivered = Counter(
                    conn.execute(
                        select(tables.attempts.c.item_id).where(tables.attempts.c.outcome == "delivered")
                    ).scalars()
                )
                exchanges = dict(conn.execute(select(tables.exchanges.c.exchange_id, tables.exchanges.c.state)).all())
                events = conn.execute(
                    select(tables.events.c.exchange_id, tables.events.c.status_code).order_by(tables.events.c.event_id)
                ).all()
        finally:
            engine.dispose()
        sends = {w[0].message_id for w in work}
        # The connector: one exchange per dossier, each at the last status, by a legal walk.
        assert set(exchanges) == sends and set(exchanges.values()) == {FINAL_STATE.value}
        walks: dict[str, list[str]] = {}
        for exchange_id, code in events:
            if code:
                walks.setdefault(exchange_id, []).append(code)
        assert all(walks[x] == [c.value for c in STATUSES] for x in sends)
        for walk in walks.values():
            state = ExchangeState.ACCEPTED
            for code in walk:
                state = next_state(state, StatusCode(code)).new_state
        # Its outbox: a document for the agency and each status for the one-stop, each delivered once.
        per_operation = Counter((i.system_id, i.operation) for i in items)
        assert per_operation == {
            (AGENCY, "deliverDocument"): DOSSIERS,
            (ONESTOP, "deliverStatus"): len(STATUSES) * DOSSIERS,
        }
        assert all(delivered[i.item_id] == 1 for i in items)

        # The partners: nothing lost, nothing registered twice.
        docmgmt = read_only(tmp_path / "docmgmt" / "docmgmt.db")
        documents = Counter(x for (x,) in docmgmt.execute("SELECT exchange_id FROM documents"))
        assert set(documents) == sends and set(documents.values()) == {1}
        received = docmgmt.execute("SELECT COUNT(*) FROM received_messages WHERE operation = 'deliverDocument'")
        assert received.fetchone()[0] == DOSSIERS
        onestop = read_only(tmp_path / "onestop" / "onestop.db")
        statuses = Counter(onestop.execute("SELECT dossier, status_code FROM timeline WHERE status_code IS NOT NULL"))
        assert set(statuses.values()) == {1}
        assert set(statuses) == {(dossier(n).code, c.value) for n in range(DOSSIERS) for c in STATUSES}
        drained_at = time.monotonic()
        print(
            f"\n{total} requests from {CLIENT_THREADS} threads through HAProxy: {sent - prepared:.1f}s "
            f"(set-up {prepared - started:.1f}s, drain {drained_at - sent:.1f}s); "
            f"SIGKILL after {killed_at} answers; resent: {dict(tally.retries)}"
        )
    finally:
        stop_all(processes)
    for log in sorted(tmp_path.glob("connector-*.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text, f"{log.name}:\n{text[-3000:]}"
