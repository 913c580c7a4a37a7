"""Idle sockets do not stall the server (issue 21, item 3): with 1,000 connections that never send a
byte, or 1,000 idle kept-alive ones, open from one host, a legitimate ``getStatus`` waited 40-43 s.
Now: a per-address connection cap, a deadline for a complete request head, and the connections
waiting for a head closed first when the open connections near the limit.

The hostile host is 127.0.0.3 (every 127/8 address is the loopback interface); the legitimate
caller is 127.0.0.1 on a new connection of its own.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from testkit.live import ONESTOP, LiveConnector, start_connector
from tests.security.conftest import envelope

HOSTILE = "127.0.0.3"
HEALTH = b"GET /health HTTP/1.1\r\nHost: connector\r\n\r\n"


def get_status_body(live: LiveConnector) -> bytes:
    return envelope(
        live.security_header(ONESTOP), "<c:getStatus><c:dossierCode>HS-NO-SUCH</c:dossierCode></c:getStatus>"
    )


def timed_get_status(live: LiveConnector) -> float:
    """One getStatus on a connection of its own (never a kept-alive one): seconds to the answer."""
    body = get_status_body(live)
    started = time.monotonic()
    answer = requests.post(
        f"{live.url}/soap",
        data=body,
        timeout=60,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', "Connection": "close"},
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 500 and b"Client.UnknownDocument" in answer.content, answer.text[:300]
    return elapsed


def port_of(live: LiveConnector) -> int:
    return int(live.url.rsplit(":", 1)[1])


def open_connections(port: int, count: int, source: str = HOSTILE, send: bytes = b"") -> list[socket.socket]:
    opened = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", port))
            if send:
                sock.sendall(send)
        except OSError:  # refused or reset at once: that is the point
            pass
        opened.append(sock)
    return opened


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Did the server close this connection (end of stream or reset) within ``within`` seconds?
    What it had answered before is read and ignored."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


@contextlib.contextmanager
def hostile(port: int, count: int, send: bytes = b"") -> Iterator[list[socket.socket]]:
    sockets = open_connections(port, count, send=send)
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def live() -> Iterator[LiveConnector]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        connector, server = start_connector(Path(tmp) / "data")
        yield connector
        server.stop()
        connector.runtime.close()


@pytest.mark.parametrize("kind", ["silent", "kept-alive"])
def test_a_legitimate_call_is_answered_within_two_seconds_with_1000_hostile_connections_open(live, kind):
    timed_get_status(live)  # warm: the password set, the directory read, spyne's first request
    with hostile(port_of(live), 1000, send=HEALTH if kind == "kept-alive" else b""):
        time.sleep(0.5)  # let the server take them in
        elapsed = timed_get_status(live)
    assert elapsed < 2.0, f"answered after {elapsed:.1f} s"


def test_connections_beyond_the_per_address_cap_are_closed_as_they_arrive(tmp_path):
    live, server = start_connector(
        tmp_path / "data", max_connections_per_address=5, header_timeout=120, channel_timeout=120
    )
    try:
        with hostile(port_of(live), 8) as sockets:
            closed = [closed_by_server(s, within=2) for s in sockets]
            assert closed.count(True) == 3 and not any(closed[:5]), closed
            timed_get_status(live)  # another address is not concerned
    finally:
        server.stop()
        live.runtime.close()


def test_a_connection_must_send_a_complete_request_head_in_time(tmp_path):
    live, server = start_connector(tmp_path / "data", header_timeout=1, channel_timeout=120)
    try:
        port = port_of(live)
        (silent,) = open_connections(port, 1)
        (half,) = open_connections(port, 1, send=b"POST /soap HTTP/1.1\r\nHost: connector\r\nContent-")
        (kept,) = open_connections(port, 1, send=HEALTH)
        for sock in (silent, half, kept):  # the sweep runs every second; 120 s of silence would be allowed
            assert closed_by_server(sock, within=10)
        (body,) = open_connections(
            port, 1, send=b"POST /soap HTTP/1.1\r\nHost: connector\r\nContent-Length: 10\r\n\r\n"
        )
        assert not closed_by_server(body, within=3)  # a head complete: the body is channel_timeout's business
        for sock in (silent, half, kept, body):
            sock.close()
    finally:
        server.stop()
        live.runtime.close()


def test_near_the_limit_connections_waiting_for_a_head_are_closed_first(tmp_path):
    live, server = start_connector(
        tmp_path / "data", connection_limit=40, max_connections_per_address=0, header_timeout=0
    )
    try:
        port = port_of(live)
        head = b"POST /soap HTTP/1.1\r\nHost: connector\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\n"
        (busy,) = open_connections(port, 1, source="127.0.0.1", send=head + b"<a")  # a body on its way
        kept = []
        for _ in range(60):  # more kept-alive connections than the limit: each is still answered
            (sock,) = open_connections(port, 1, send=HEALTH)
            sock.settimeout(10)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200"), "not answered: the limit was reached"
            kept.append(sock)
        assert sum(closed_by_server(s, within=0.2) for s in kept[:20]) > 0  # the oldest idle ones made room
        assert timed_get_status(live) < 2.0
        busy.sendall(b"/>\r\n")  # the connection with a body on its way was never chosen
        busy.settimeout(10)
        assert busy.recv(65536).startswith(b"HTTP/1.1 500")
        for sock in (busy, *kept):
            sock.close()
    finally:
        server.stop()
        live.runtime.close()
