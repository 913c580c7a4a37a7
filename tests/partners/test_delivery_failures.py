"""Delivery against a partner that is down, refuses, or hangs; dead letters retried from the
operator's CLI. The worker is the real one; time is moved by its injected clock."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from connector.clock import utcnow
from connector.config import DeliverySettings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import Account, Directory, SystemEntry, SystemKind
from simulators import start_in_background
from testkit.clock import StepClock
from testkit.net import free_port
from tests.partners.conftest import AGENCY_ID

ROOT = Path(__file__).resolve().parents[2]


def point_docmgmt_at(stack, url: str) -> None:
    stack.connector.runtime.store.import_directory(
        Directory(systems=[SystemEntry("eoffice-stp", AGENCY_ID, SystemKind.DOCMGMT, url)])
    )


def worker(stack, clients, clock, **settings) -> DeliveryWorker:
    return DeliveryWorker(stack.connector.runtime.store, clients, DeliverySettings(**settings), clock=clock)


def drain(w: DeliveryWorker) -> None:
    while w.run_once() is not None:
        pass


def document_item(stack):
    [item] = [i for i in stack.connector.runtime.store.outbox_items() if i.operation == "deliverDocument"]
    return item


def test_partner_down_then_up_is_delivered_exactly_once(stack, partner_clients):
    port = free_port()
    point_docmgmt_at(stack, f"http://127.0.0.1:{port}/soap")
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, partner_clients, clock, backoff_base=10)

    drain(w)
    item = document_item(stack)
    assert (item.state, item.attempts) == ("pending", 1)
    assert item.last_error.startswith("transport: ConnectionError")
    assert item.next_attempt_at > clock.now  # backing off: not due yet
    assert w.run_once() is None

    server = start_in_background(stack.docmgmt, port=port)  # the partner comes back
    try:
        clock.advance(60)
        drain(w)
        clock.advance(3600)
        drain(w)
    finally:
        server.stop()
    item = document_item(stack)
    assert (item.state, item.attempts) == ("delivered", 2)
    assert item.message_id.endswith(":deliverDocument")  # the same id on every attempt
    assert len(stack.docmgmt.registration_queue()) == 1
    outcomes = [a["outcome"] for a in stack.connector.runtime.store.attempts(item.item_id)]
    assert outcomes == ["retry", "delivered"]


def test_a_client_fault_dead_letters_at_once_with_the_partners_reason(stack, partner_clients):
    # The connector knows an officer the agency's system does not: the partner refuses the draft.
    stack.connector.runtime.store.import_directory(Directory(accounts=[Account("ghost", AGENCY_ID)]))
    stack.send("OUTGOING", username="ghost")
    clock = StepClock()
    w = worker(stack, partner_clients, clock)

    drain(w)
    item = document_item(stack)
    assert (item.state, item.attempts) == ("dead", 1)
    assert item.last_error.startswith("Client.Rejected") and "ghost" in item.last_error
    clock.advance(86400)
    assert all(i.operation != "deliverDocument" for i in iter(lambda: w.run_once(), None))
    assert document_item(stack).attempts == 1  # never retried
    notes = [e.note for e in stack.connector.runtime.store.timeline(item.exchange_id)]
    assert any("dead-lettered (rejected)" in (n or "") for n in notes)


def test_a_hanging_partner_times_out_and_the_item_retries(stack):
    with socket.socket() as hang:  # accepts connections (kernel backlog) and never answers
        hang.bind(("127.0.0.1", 0))
        hang.listen(8)
        point_docmgmt_at(stack, f"http://127.0.0.1:{hang.getsockname()[1]}/soap")
        clients = PartnerClients(Timeouts(connect=1.0, read=0.5))
        stack.send("INCOMING")
        clock = StepClock()
        w = worker(stack, clients, clock, backoff_base=1, retry_horizon=15)
        w.run_once()
        item = document_item(stack)
        assert (item.state, item.attempts) == ("pending", 1)
        assert item.last_error.startswith("timeout")
        clock.advance(10)
        w.run_once()
        clock.advance(10)
        w.run_once()
    item = document_item(stack)
    assert (item.state, item.attempts) == ("dead", 3)  # the first failure past the horizon gives up


def test_a_dead_letter_retried_from_the_cli_is_delivered(stack, partner_clients):
    port = free_port()
    point_docmgmt_at(stack, f"http://127.0.0.1:{port}/soap")
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, partner_clients, clock, retry_horizon=0)
    drain(w)
    item = document_item(stack)
    assert item.state == "dead"

    data_dir = str(stack.connector.runtime.settings.data_dir)
    listing = subprocess.run(
        [sys.executable, "-m", "connector", "outbox", "list", "--state", "dead", "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"{item.item_id:5} dead" in listing.stdout and "ConnectionError" in listing.stdout

    server = start_in_background(stack.docmgmt, port=port)
    try:
        retried = subprocess.run(
            [sys.executable, "-m", "connector", "outbox", "retry", str(item.item_id), "--data-dir", data_dir],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert retried.returncode == 0, retried.stderr
        clock.now = utcnow() + timedelta(seconds=1)  # the CLI made it due at the real "now"
        drain(w)
    finally:
        server.stop()
    assert document_item(stack).state == "delivered"
    assert len(stack.docmgmt.registration_queue()) == 1

    again = subprocess.run(
        [sys.executable, "-m", "connector", "outbox", "retry", str(item.item_id), "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "only dead items can be retried" in again.stderr
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "connector",
            "exchange",
            "show",
            "Bo_Thu_Tuc_Cap_Huyen-221126-0003",
            "--data-dir",
            data_dir,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        "registration queue of vanthu.stp" in shown.stdout
        and "deliverDocument delivered to eoffice-stp" in shown.stdout
    )


def test_the_worker_runs_as_its_own_process(stack):
    """`python -m connector worker` on the connector's data directory delivers what the
    server (here with its worker thread off) accepted."""
    sent = stack.send("INCOMING")
    data_dir = str(stack.connector.runtime.settings.data_dir)
    worker_process = subprocess.Popen(
        [sys.executable, "-m", "connector", "worker", "--data-dir", data_dir],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stack.docmgmt.registration_queue():
            time.sleep(0.1)
    finally:
        worker_process.terminate()
        output, _ = worker_process.communicate(timeout=30)
    assert [row.abstract for row in stack.docmgmt.registration_queue()] == ["Bo_Thu_Tuc_Cap_Huyen-221126-0003"], output
    # The partner reports "arrived" right after it has registered the document: wait for it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and stack.business_states(sent.message_id)[:2] != ["accepted", "arrived"]:
        time.sleep(0.1)
    assert stack.business_states(sent.message_id)[:2] == ["accepted", "arrived"]
