"""A partner that answers whatever a test tells it to: a real HTTP server on 127.0.0.1 (its own
thread), for the answers the simulators never give – a proxy's error page, an empty 200, garbage,
a connection closed before any answer."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    content_type: str = "text/xml; charset=utf-8"
    body: bytes = b""
    cut: bool = False  # read the request, then close the connection without a word
    hang: bool = False  # read the request, then answer only once the test calls ``release()``


def soap(body_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:tns="urn:vn:lienthong:partner:docmgmt:1">'
        f"<soap:Body>{body_xml}</soap:Body></soap:Envelope>"
    ).encode()


def accepted(reference: str) -> bytes:
    return soap(
        "<tns:deliverDocumentResponse><tns:accepted>"
        f"<tns:reference>{reference}</tns:reference><tns:duplicate>false</tns:duplicate>"
        "</tns:accepted></tns:deliverDocumentResponse>"
    )


def fault(code: str, text: str) -> bytes:
    return soap(f"<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring></soap:Fault>")


class FakePartner:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.calls = 0
        self._released = threading.Event()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                partner.calls += 1
                answer = partner.answer
                if answer.hang:
                    partner._released.wait(120)
                    answer = partner.answer
                if answer.cut:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/soap"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def release(self, answer: Answer) -> None:
        """From now on answer ``answer``, also to the calls that hang."""
        self.answer = answer
        self._released.set()

    def __enter__(self) -> FakePartner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
