"""Resource family: limits that must hold while someone tries to exhaust the connector.

Nothing here asserts on wall time. Each case asserts on what it can count or order: a fault
that arrives although the body was never finished, half-open connections still open while
others are served, the number of requests let through, memory before and after.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connector.edxml import build
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import fault_of, refused_envelope
from testkit.hostile import certificate_text, junk_certificate, with_key_info_certificates
from testkit.live import LiveConnector, row_counts, start_connector
from testkit.rawsoap import authenticating, b64, envelope, list_pending, post, send_document, with_credentials

CAP = 100_000


@pytest.fixture(scope="module")
def capped(tmp_path_factory) -> Iterator[LiveConnector]:
    connector, server = start_connector(tmp_path_factory.mktemp("capped") / "data", max_request_bytes=CAP)
    with authenticating(connector):
        yield connector
    server.stop()
    connector.runtime.close()


def raw_connection(url: str, source: str | None = None) -> socket.socket:
    """``source``: the local address to connect from (any 127/8 address is the loopback)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=15, source_address=(source, 0) if source else None)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (it does after a refusal)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def soap_fault_code(raw: bytes) -> str:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500") and b"text/xml" in head, head
    # The documented code is in the typed detail; the faultcode is SOAP's own class.
    return body.split(b"<tns:code>")[1].split(b"</tns:code>")[0].decode()


# ---- the size cap, before the body is read --------------------------------------------------
def test_an_announced_oversized_body_is_refused_before_a_byte_of_it_is_sent(capped):
    sock = raw_connection(capped.url)
    sock.sendall(
        b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n" % (CAP + 1)
    )
    # No body follows: the answer can only come from the Content-Length.
    assert soap_fault_code(read_response(sock)) == ErrorCode.TOO_LARGE.value


def test_a_chunked_body_is_refused_once_it_passes_the_cap_without_being_finished(capped):
    before = row_counts(capped)
    sock = raw_connection(capped.url)
    sock.sendall(b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 10_000
    for _ in range(CAP // len(chunk) + 1):  # just past the cap, and the final 0-chunk never comes
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert soap_fault_code(read_response(sock)) == ErrorCode.TOO_LARGE.value
    assert row_counts(capped) == before


def test_an_oversized_request_from_an_ordinary_client_gets_the_soap_fault_not_a_413(capped):
    fault = refused_envelope(capped, envelope(list_pending()) + " " * (2 * CAP), ErrorCode.TOO_LARGE)
    assert f"limit is {CAP:,} bytes" in fault.message


def test_an_oversized_chunked_request_from_an_ordinary_client_gets_the_soap_fault(capped):
    body = (envelope(list_pending()) + " " * (3 * CAP)).encode()
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))  # a generator: requests sends it chunked
    fault = fault_of(post(capped.url, chunks))
    assert fault.code == ErrorCode.TOO_LARGE.value


def test_a_request_of_exactly_the_cap_is_read(capped):
    text = with_credentials(capped.url, envelope(list_pending()).encode())
    response = post(capped.url, text + b" " * (CAP - len(text)))
    assert response.status_code == 200 and b"listPendingResponse" in response.content


# ---- half-open connections --------------------------------------------------------------------
def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data would be a response: not expected either
    except BlockingIOError:
        return True  # nothing to read and not closed
    except OSError:
        return False


@pytest.fixture
def patient(tmp_path) -> Iterator[LiveConnector]:
    """A connector whose request-head deadline is far beyond the test's duration, so that every
    half-open connection still held at the end was held by design, not by luck."""
    connector, server = start_connector(tmp_path / "data", header_timeout=300)
    with authenticating(connector):
        yield connector
    server.stop()
    connector.runtime.close()


def test_500_half_open_connections_do_not_stall_health_or_a_valid_send(patient):
    """From ten client addresses, 50 each: the per-address cap (``max_connections_per_address``,
    50) is tested in test_idle_sockets.py."""
    live = patient  # noqa: F811
    halves = [
        b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Le",  # half the headers
        b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 5000\r\n\r\n<soap:Envelope",
    ]
    stalled = []
    try:
        for i in range(500):
            sock = raw_connection(live.url, source=f"127.0.1.{10 + i % 10}")
            sock.sendall(halves[i % 2])
            stalled.append(sock)
        with requests.Session() as session:
            session.trust_env = False
            assert session.get(f"{live.url}/health", timeout=10).json() == {"status": "ok"}
        signed = sign_package(build(guide.send_package()), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))
        response = post(live.url, envelope(send_document(b64(signed))))
        assert response.status_code == 200 and b"<tns:state>accepted</tns:state>" in response.content
        # ... and the stalled ones were not simply dropped to make room: they are all still open.
        assert sum(still_open(sock) for sock in stalled) == 500
    finally:
        for sock in stalled:
            sock.close()


def test_a_silent_connection_is_closed_after_the_channel_timeout(tmp_path):
    connector, server = start_connector(tmp_path / "data", channel_timeout=1)
    try:
        sock = raw_connection(connector.url)
        sock.sendall(b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<half")
        sock.settimeout(15)
        assert sock.recv(1) == b""  # closed by the server, with nothing sent back
    finally:
        server.stop()
        connector.runtime.close()


# ---- the memory budget: at most N large requests at once --------------------------------------
def test_large_requests_beyond_the_budget_get_server_busy_at_once(tmp_path):
    connector, server = start_connector(tmp_path / "data", large_request_bytes=10_000, max_large_requests=2)
    inside, release = threading.Semaphore(0), threading.Event()
    service = connector.runtime.service
    original = service.send_document

    def held(request, *args, **kwargs):  # the request is being processed, and stays so until released
        inside.release()
        release.wait(30)
        return original(request, *args, **kwargs)

    service.send_document = held
    identity = connector.runtime.dev_keys.identity(guide.ONESTOP.organ_id)
    large = envelope(send_document(b64(sign_package(build(guide.send_package()), identity))))
    assert len(large.encode()) > 10_000
    with authenticating(connector):
        try:
            with ThreadPoolExecutor(2) as pool:
                running = [pool.submit(post, connector.url, large) for _ in range(2)]
                for _ in range(2):
                    assert inside.acquire(timeout=30)
                # Both slots are taken: the third large request is refused while they are still held.
                before = row_counts(connector)
                busy = post(connector.url, large)
                assert fault_of(busy).code == ErrorCode.BUSY.value and busy.headers["Retry-After"]
                assert not any(f.done() for f in running)
                # ... and told from its headers alone, before it uploads a byte of its body.
                sock = raw_connection(connector.url)
                sock.sendall(b"POST /soap12 HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n")
                answer = read_response(sock)
                assert answer.startswith(b"HTTP/1.1 500") and b"Retry-After: 5" in answer, answer[:300]
                assert b"application/soap+xml" in answer and b"<tns:code>Server.Busy</tns:code>" in answer
                assert row_counts(connector) == before
                # A small request is not large: it passes.
                assert post(connector.url, envelope(list_pending())).status_code == 200
                release.set()
                outcomes = [f.result(timeout=30) for f in running]
            assert sorted(r.status_code for r in outcomes) == [200, 200]  # the same request twice: one receipt
            # The slots are free again.
            after = post(connector.url, large)
            assert after.status_code == 200
        finally:
            release.set()
            server.stop()
            connector.runtime.close()


# ---- bounded signature processing: memory under a stream of forged certificates ---------------
def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_600_forged_requests_with_distinct_junk_certificates_grow_memory_by_less_than_50_mb(live):  # noqa: F811
    signed = sign_package(build(guide.send_package()), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))
    cache = live.runtime.service.config.policy.chain_cache

    def forged(i: int) -> str:
        if i % 2:  # the real signer padded with 7 distinct junk certificates: a new chain to cache
            texts = [certificate_text(junk_certificate(i * 10 + k)) for k in range(7)]
            return envelope(send_document(b64(with_key_info_certificates(signed, texts))))
        # a junk certificate in place of the signer's: never trusted
        texts = [certificate_text(junk_certificate(i * 10))]
        return envelope(send_document(b64(with_key_info_certificates(signed, texts, replace=True))))

    codes = []
    # pytest keeps every log record of the test (one per request); that is the harness's memory,
    # not the server's, so records are not made during the measurement.
    logging.disable(logging.CRITICAL)
    try:
        for i in range(50):  # warm-up: allocator pools, lazy imports, connection pool
            codes.append(fault_or_ok(post(live.url, forged(i))))
        baseline = rss_bytes()
        for i in range(50, 650):
            codes.append(fault_or_ok(post(live.url, forged(i))))
        grown = rss_bytes() - baseline
    finally:
        logging.disable(logging.NOTSET)
    assert grown < 50 * 1024 * 1024, f"memory grew by {grown / 2**20:.1f} MiB"
    assert len(cache) <= cache.size
    assert set(codes) <= {"ok", ErrorCode.SIGNATURE_INVALID.value, ErrorCode.DUPLICATE_MESSAGE.value}
    assert codes.count(ErrorCode.SIGNATURE_INVALID.value) == 325


def fault_or_ok(response: requests.Response) -> str:
    return "ok" if response.status_code == 200 else fault_of(response).code
