"""The HTTP face of the connector: one WSGI callable.

``POST /soap`` (size-capped, then spyne), ``GET /soap?wsdl`` (the WSDL built once at start-up
for the configured address), ``GET /wsdl/*.wsdl`` and ``GET /schemas/*.xsd`` (the checked-in
contract for integrators), ``GET /health`` and ``GET /`` (a page for a person).
"""

from __future__ import annotations

import html
import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from connector.admin.app import AdminApp
from connector.edxml import ParseLimits
from connector.errors import ErrorCode
from connector.runtime import Runtime
from connector.soap.contract import ROOT, build_application, served_wsdl
from connector.soap.protocol import SOAP_ENV
from connector.soap.spyne_compat import WsgiApplication

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]


def fault_envelope(code: ErrorCode, message: str) -> bytes:
    """A SOAP 1.1 fault for errors raised before spyne sees the request (e.g. the size cap)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap11env": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap11env:{code.value}"
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, "code").text = code.value
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


class ConnectorApp:
    """The connector as one WSGI callable, for waitress or any WSGI server.

    Contract: every answer to ``POST /soap`` is a SOAP 1.1 envelope - a response or a fault
    with a documented code (``connector.errors``), never a plain-text error page; a request
    over ``max_request_bytes`` is refused from its Content-Length before spyne reads it; the
    served WSDL's address is fixed at construction from ``Settings.public_url``, never from a
    request's Host header.
    """

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.max_request_bytes = settings.max_request_bytes
        self.public_url = settings.effective_public_url
        application = build_application(ParseLimits(max_bytes=settings.max_request_bytes))
        application.exchange_service = runtime.service  # read by the service methods via ctx.app
        self.soap = WsgiApplication(application, max_content_length=settings.max_request_bytes)
        self.wsdl = served_wsdl(application, f"{self.public_url}/soap")
        self.admin = AdminApp(runtime)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/soap":
            return soap_endpoint(environ, start_response, self.wsdl, self._post)
        if path == "/admin" or path.startswith("/admin/"):  # the operators' console (connector/admin)
            return self.admin(environ, start_response)
        if method != "GET":
            return send(start_response, "405 Method Not Allowed", "text/plain; charset=utf-8", b"method not allowed\n")
        if path == "/":
            return send(start_response, "200 OK", "text/html; charset=utf-8", self._index())
        if path == "/health":
            return send(start_response, "200 OK", "application/json", json.dumps({"status": "ok"}).encode())
        static = _static_file(path)
        if static is not None:
            return send(start_response, "200 OK", "text/xml; charset=utf-8", static.read_bytes())
        return send(start_response, "404 Not Found", "text/plain; charset=utf-8", b"not found; see /\n")

    def _post(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The size cap, then spyne, with a last line of defence: nothing leaves as waitress's
        plain-text 500."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.max_request_bytes:
            body = fault_envelope(
                ErrorCode.TOO_LARGE, f"request is {length:,} bytes; the limit is {self.max_request_bytes:,} bytes"
            )
            return send(start_response, "500 Internal Server Error", "text/xml; charset=utf-8", body)
        try:
            return list(self.soap(environ, start_response))
        except Exception:
            log.exception("unhandled error in the SOAP layer")
            body = fault_envelope(ErrorCode.INTERNAL, "internal error; nothing was stored")
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
                sys.exc_info(),
            )
            return [body]

    def _index(self) -> bytes:
        url = html.escape(self.public_url)
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edXML connector</title></head>
<body><h1>One-stop &harr; document-management connector</h1>
<p>SOAP 1.1 endpoint: <code>{url}/soap</code> &mdash; WSDL: <a href="{url}/soap?wsdl">{url}/soap?wsdl</a></p>
<p>Checked-in contract: <a href="/wsdl/connector.wsdl">wsdl/connector.wsdl</a>,
<a href="/schemas/connector.xsd">schemas/connector.xsd</a>, <a href="/schemas/edxml.xsd">schemas/edxml.xsd</a>.</p>
<p>Operations, examples and fault codes: <code>docs/contract.md</code> in the source tree.
Health: <a href="/health">/health</a>.</p>
</body></html>""".encode()


def soap_endpoint(
    environ: dict[str, Any],
    start_response: StartResponse,
    wsdl: bytes,
    post: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
) -> Iterable[bytes]:
    """``/soap``: the pinned WSDL on ``GET ?wsdl``, requests on POST (shared with the simulators)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET" and environ.get("QUERY_STRING", "").lower() in ("wsdl", "wsdl=", "wsdl=1"):
        return send(start_response, "200 OK", "text/xml; charset=utf-8", wsdl)
    if method != "POST":
        return send(
            start_response,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"POST a SOAP 1.1 envelope here; the WSDL is at ?wsdl\n",
        )
    return post(environ, start_response)


def _static_file(path: str) -> Path | None:
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] not in ("wsdl", "schemas") or not parts[1].endswith((".wsdl", ".xsd")):
        return None
    # Two plain path segments only: no "..", no hidden files, nothing outside wsdl/ and schemas/.
    if parts[1].startswith(".") or "\\" in parts[1]:
        return None
    candidate = ROOT / parts[0] / parts[1]
    return candidate if candidate.is_file() else None


def send(start_response: StartResponse, status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
