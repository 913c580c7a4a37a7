"""Costs bounded earlier (issue 21, item 9, the HTTP parts): a chunk-size line of 2^72 is refused
when it is read, not after the idle timeout; a large UTF-16 envelope - decoded and parsed whole,
it cannot be read in chunks - costs the whole memory budget instead of one slot."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from connector.edxml import build
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import fault_of
from testkit.live import row_counts, start_connector
from testkit.rawsoap import authenticating, b64, envelope, post, send_document


def test_a_chunk_size_line_of_2_to_the_72_is_refused_at_once(tmp_path):
    connector, server = start_connector(tmp_path / "data", channel_timeout=60, header_timeout=60)
    try:
        host, port = connector.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"%x\r\n<soap:Envelope" % (2**72)
            )
            started = time.monotonic()
            answer = b""
            while chunk := sock.recv(65536):  # a timeout here (10 s) is the old behaviour: waiting for 60 s
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 500") and b"<tns:code>Client.TooLarge</tns:code>" in answer, answer[:400]
        assert time.monotonic() - started < 10
    finally:
        server.stop()
        connector.runtime.close()


def test_a_large_utf16_envelope_takes_the_whole_memory_budget(tmp_path):
    connector, server = start_connector(tmp_path / "data", large_request_bytes=10_000, max_large_requests=2)
    inside, release = threading.Semaphore(0), threading.Event()
    service = connector.runtime.service
    original = service.send_document

    def held(request, *args, **kwargs):  # processed, and kept so until released
        inside.release()
        release.wait(30)
        return original(request, *args, **kwargs)

    service.send_document = held
    identity = connector.runtime.dev_keys.identity(guide.ONESTOP.organ_id)
    package = b64(sign_package(build(guide.send_package()), identity))
    utf8 = envelope(send_document(package))
    utf16 = envelope(send_document(package), declaration='<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    utf16_type = "text/xml; charset=utf-16"
    try:
        with authenticating(connector), ThreadPoolExecutor(2) as pool:
            # One UTF-8 large request held: one slot of two is free - a UTF-16 one needs both.
            running = pool.submit(post, connector.url, utf8)
            assert inside.acquire(timeout=30)
            before = row_counts(connector)
            assert fault_of(post(connector.url, utf16, content_type=utf16_type)).code == ErrorCode.BUSY.value
            assert row_counts(connector) == before
            release.set()
            assert running.result(timeout=30).status_code == 200
            # A UTF-16 one held: no other large request, UTF-8 included, until it is done.
            release.clear()
            wide = pool.submit(post, connector.url, utf16, utf16_type)
            assert inside.acquire(timeout=30)
            other = envelope(send_document(package))
            assert fault_of(post(connector.url, other)).code == ErrorCode.BUSY.value
            release.set()
            assert wide.result(timeout=30).status_code in (200, 500)  # processed (a duplicate is a fault)
    finally:
        release.set()
        server.stop()
        connector.runtime.close()


def test_a_large_utf16_envelope_from_a_stranger_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    from connector.soap import leniency

    decoded: list[int] = []
    original = leniency.as_utf8
    monkeypatch.setattr(leniency, "as_utf8", lambda data: decoded.append(len(data)) or original(data))
    connector, server = start_connector(tmp_path / "data", stream_threshold_bytes=10_000)
    identity = connector.runtime.dev_keys.identity(guide.ONESTOP.organ_id)
    package = b64(sign_package(build(guide.send_package()), identity))
    declaration = '<?xml version="1.0" encoding="UTF-16"?>'
    utf16_type = "text/xml; charset=utf-16"
    try:
        wrong = connector.security_header(guide_system := "igate-hungyen", password="not the password at all")
        for header in (wrong, ""):  # a wrong password; no credentials at all
            before = row_counts(connector)
            body = envelope(send_document(package), header=header, declaration=declaration).encode("utf-16")
            assert len(body) > 10_000
            fault = fault_of(post(connector.url, body, content_type=utf16_type))
            assert fault.code == ErrorCode.UNAUTHENTICATED.value, fault
            assert row_counts(connector) == before
        assert decoded == []  # refused from the first 64 KiB: the rest never decoded
        # The system itself, with its own credentials: authenticated once (its nonce is spent
        # then), decoded and processed.
        good = connector.security_header(guide_system)
        body = envelope(send_document(package), header=good, declaration=declaration).encode("utf-16")
        answer = post(connector.url, body, content_type=utf16_type)
        assert answer.status_code == 200 and b"accepted" in answer.content, answer.text[:400]
        assert decoded and decoded[0] == len(body)
    finally:
        server.stop()
        connector.runtime.close()
