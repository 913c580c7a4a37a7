"""Issue 22, items 3 and 8: stopping does not hang clients, children die with their supervisor,
and a restarted process reclaims the leases its previous incarnation held – with real
``server.py`` processes, SIGTERM and SIGKILL, and a partner whose call hangs."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from connector.store import Store
from tests.badday.fake_partner import Answer, FakePartner, accepted
from tests.badday.processes import ConnectorProcess, wait_until

HANGING_CALL = "read_timeout = 30.0\nconnect_timeout = 2.0\n"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def delivered(work: Path) -> bool:
    store = Store(f"sqlite:///{work / 'data' / 'connector.db'}")  # ConnectorProcess's default data_dir
    try:
        return all(i.state == "delivered" for i in store.outbox_items() if i.operation == "deliverDocument")
    finally:
        store.close()


def half_request(port: int) -> tuple[socket.socket, bytes]:
    """A request whose body is half sent: in flight when the stop begins."""
    body = b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' + (
        b"<soap:Body><x/></soap:Body></soap:Envelope>"
    )
    head = (
        f"POST /soap HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f"SOAPAction: getStatus\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head + body[:40])
    return sock, body[40:]


def read_answer(sock: socket.socket) -> bytes:
    """The whole HTTP answer: the server closes the connection after it while stopping."""
    chunks = []
    with sock:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_refuses_new_connections_at_once_finishes_requests_and_the_restart_reclaims(tmp_path):
    with FakePartner(Answer(hang=True)) as partner:
        connector = ConnectorProcess(tmp_path, delivery=HANGING_CALL, docmgmt_endpoint=partner.url).start()
        try:
            connector.credentials()
            connector.send(1)
            wait_until(lambda: partner.calls >= 1, what="the partner call in flight")
            sock, rest = half_request(connector.port)
            time.sleep(0.3)  # the headers are in: the request is being received
            started = time.monotonic()
            connector.signal(signal.SIGTERM)
            wait_until(lambda: refused(connector.port), timeout=3, what="the listener closed")
            assert time.monotonic() - started < 3
            sock.sendall(rest)  # the request in flight is still answered
            answer = read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 500") and b"Fault" in answer, answer[:200]
            assert connector.wait(timeout=10) == 0  # not the partner call's 30 s read timeout
            assert time.monotonic() - started < 10
            assert not delivered(tmp_path)  # the abandoned call's item is still leased for 120 s
            partner.release(Answer(body=accepted("REG-1")))
            connector.start()  # the same node and role: it reclaims that lease at once
            wait_until(lambda: delivered(tmp_path), timeout=20, what="the reclaimed item delivered")
            assert any("reclaimed 1 items" in line for line in connector.log_lines())
        finally:
            connector.stop()


def server_children(config: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(config).encode() in cmdline and b"--listen-fd" in cmdline:
            found.append(int(pid))
    return found


def test_children_die_with_a_killed_supervisor_and_the_port_is_free_for_a_restart(tmp_path):
    with FakePartner(Answer(hang=True)) as partner:
        connector = ConnectorProcess(
            tmp_path, delivery=HANGING_CALL, docmgmt_endpoint=partner.url, args=("--workers", "2")
        ).start()
        try:
            connector.credentials()
            connector.send(1)
            wait_until(lambda: partner.calls >= 1, what="the partner call in flight")
            assert len(server_children(connector.config)) == 2
            connector.signal(signal.SIGKILL)
            connector.wait(timeout=5)
            wait_until(lambda: not server_children(connector.config), timeout=8, what="the orphans gone")
            partner.release(Answer(body=accepted("REG-1")))
            connector.start()  # binds the same port: nobody holds it any more
            assert connector.process is not None and connector.process.poll() is None
            wait_until(lambda: delivered(tmp_path), timeout=20, what="the reclaimed item delivered")
        finally:
            connector.stop()
