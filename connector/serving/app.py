"""The HTTP face of the connector: one WSGI callable.

``POST /soap`` (SOAP 1.1) and ``POST /soap12`` (SOAP 1.2), each size-capped, then spyne - each
path takes either envelope version and answers in the request's (``connector.soap.envelope_version``);
``GET /soap?wsdl`` and ``GET /soap12?wsdl`` (each endpoint's checked-in WSDL with the configured
address, built once at start-up),
``GET /wsdl/*.wsdl`` and ``GET /schemas/*.xsd`` (the checked-in
contract for integrators), ``GET /health/live`` and ``/health/ready`` (``connector/ops/health.py``;
``/health`` is the liveness answer), ``GET /metrics`` (Prometheus; for the scraper only:
``connector/auth/scraper.py``) and ``GET /`` (a page for a person). Every SOAP request gets a
request id: in the ``X-Request-Id`` header, in every fault's ``detail`` (``requestId``) and in
its one log line.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from connector.admin.app import AdminApp
from connector.auth import transport_facts
from connector.auth.scraper import ScraperAccess
from connector.clock import utcnow
from connector.edxml import ParseLimits
from connector.errors import ConnectorError, ErrorCode
from connector.ops import metrics
from connector.ops.certificates import CertificateStatus, ExpiryReminder, certificates
from connector.ops.health import readiness
from connector.ops.logs import ENVIRON_KEY, RequestContext, log_request, silence_spyne_fault_logging
from connector.serving.admission import LargeRequestGate, wide_request_slots
from connector.serving.runtime import Runtime
from connector.soap.context import CallContext
from connector.soap.contract import PATHS, ROOT, build_application, published_wsdl
from connector.soap.early import PREFIX_BYTES, is_wide, security_headers
from connector.soap.envelope_version import envelope_version
from connector.soap.faults import SoapVersion, fault_envelope
from connector.soap.models import TNS
from connector.soap.service import ConnectorService
from connector.soap.spyne_compat import WsgiApplication
from connector.soap.streaming import hollowed

StartResponse = Callable[..., Any]
EARLY_CALLER = "connector.early_caller"  # environ key: a caller authenticated before the body was decoded
OPERATIONS = frozenset(ConnectorService.public_methods)  # bounded values for the metrics' operation label


class ConnectorApp:
    """The connector as one WSGI callable, for waitress or any WSGI server.

    Contract: every answer to ``POST /soap`` or ``/soap12`` is a SOAP envelope in the version of
    the request (the path's own when the request is neither) - a response or a fault with a
    documented code (``connector.errors``), never a plain-text error page; a request
    over ``max_request_bytes`` is refused from its Content-Length before spyne reads it; the
    served WSDL's address is fixed at construction from ``Settings.public_url``, never from a
    request's Host header.
    """

    def __init__(self, runtime: Runtime, gate: LargeRequestGate | None = None) -> None:
        """``gate``: the memory budget, when the HTTP server shares it (``httpserver.create_server``)."""
        settings = runtime.settings
        self.runtime = runtime
        self.max_request_bytes = settings.max_request_bytes
        self.public_url = settings.effective_public_url
        trusted_proxies = frozenset(settings.auth.trusted_proxies)
        gateway = settings.auth.gateway  # an API gateway's assertion header, from its addresses only
        assertion_header = gateway.header if gateway.enabled else ""
        gateways = frozenset(gateway.trusted_proxies)
        self.trusted_proxies = trusted_proxies
        # One spyne application per SOAP version (legacy clients: the WSDL's SOAP 1.2 port).
        self.soap: dict[SoapVersion, WsgiApplication] = {}
        for version in SoapVersion:
            application = build_application(
                ParseLimits(max_bytes=settings.max_request_bytes),
                bind=lambda headers, environ: CallContext(
                    runtime.service,
                    environ.get(EARLY_CALLER)  # a large UTF-16 request's, authenticated from its first bytes
                    or runtime.authenticator.authenticate(
                        headers, transport_facts(environ, trusted_proxies, assertion_header, gateways)
                    ),
                ),
                version=version,
            )
            self.soap[version] = WsgiApplication(application, max_content_length=settings.max_request_bytes)
        self.gate = gate or LargeRequestGate(settings.large_request_bytes, settings.max_large_requests)
        self.stream_threshold_bytes = settings.stream_threshold_bytes
        self.envelope_limits = ParseLimits(max_bytes=settings.max_request_bytes)
        # Each endpoint's checked-in WSDL itself, with this server's address.
        self.wsdl = {version: published_wsdl(self.public_url, version) for version in SoapVersion}
        silence_spyne_fault_logging()  # the request line replaces spyne's fault logging
        self.expiry_reminder = ExpiryReminder(warned_at=utcnow())  # build_runtime warned at start
        self.admin = AdminApp(runtime.console_parts())
        self.scraper = ScraperAccess.of(settings.auth)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == PATHS[SoapVersion.SOAP11]:
            return soap_endpoint(environ, start_response, self.wsdl[SoapVersion.SOAP11], self._post)
        if path == "/admin" or path.startswith("/admin/"):  # the operators' console (connector/admin)
            return self.admin(environ, start_response)
        if path == PATHS[SoapVersion.SOAP12]:
            return soap_endpoint(environ, start_response, self.wsdl[SoapVersion.SOAP12], self._post12)
        if method != "GET":
            return send(start_response, "405 Method Not Allowed", "text/plain; charset=utf-8", b"method not allowed\n")
        if path == "/":
            return send(start_response, "200 OK", "text/html; charset=utf-8", self._index())
        if path in ("/health", "/health/live"):
            return send(start_response, "200 OK", "application/json", json.dumps({"status": "ok"}).encode())
        if path == "/health/ready":
            self._certificates(utcnow())  # probes drive the daily certificate reminder too
            ready = readiness(self.runtime.readiness_parts(), utcnow())
            status = "200 OK" if ready.ready else "503 Service Unavailable"
            return send(start_response, status, "application/json", json.dumps(ready.as_json(), indent=2).encode())
        if path == "/metrics":
            if not self.scraper.allows(environ):
                start_response(
                    "401 Unauthorized",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("WWW-Authenticate", 'Bearer realm="metrics"'),
                        ("Content-Length", "26"),
                    ],
                )
                return [b"metrics: not for strangers"]
            return send(start_response, "200 OK", metrics.CONTENT_TYPE, self._metrics())
        static = _static_file(path)
        if static is not None:
            return send(start_response, "200 OK", "text/xml; charset=utf-8", static.read_bytes())
        return send(start_response, "404 Not Found", "text/plain; charset=utf-8", b"not found; see /\n")

    def _post12(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self._post(environ, start_response, SoapVersion.SOAP12)

    def _post(
        self, environ: dict[str, Any], start_response: StartResponse, version: SoapVersion = SoapVersion.SOAP11
    ) -> Iterable[bytes]:
        """The size cap, then spyne (a large body hollowed first: ``streaming``), with a last line
        of defence: nothing leaves as waitress's plain-text 500. Then the request id into the
        answer, the log line and the metrics."""
        request = RequestContext(caller=environ.get("REMOTE_ADDR") or "-")
        environ[ENVIRON_KEY] = request
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.max_request_bytes:
            status, headers = "500 Internal Server Error", [("Content-Type", version.content_type)]
            message = f"request is {length:,} bytes; the limit is {self.max_request_bytes:,} bytes"
            body = fault_envelope(ErrorCode.TOO_LARGE, message, version)
        elif (refusal := self._early_refusal(environ, length, version)) is not None:
            status, headers, body = refusal
        else:
            # Either path takes either version: the envelope says which spyne application reads it.
            version = envelope_version(environ, version)
            with self.gate.admit(length, self._slots(environ, length)) as admitted:
                if admitted and length >= self.stream_threshold_bytes:  # the package decoded as it is read
                    with hollowed(environ, self.envelope_limits, version.value):
                        status, headers, body = self._spyne(environ, request, version)
                elif admitted:
                    status, headers, body = self._spyne(environ, request, version)
                else:  # the memory budget is spent: answered at once, nothing parsed
                    status, headers = (
                        "500 Internal Server Error",
                        [("Content-Type", version.content_type), ("Retry-After", "5")],
                    )
                    message = f"{self.gate.max_large_requests} large requests are being processed; retry later"
                    body = fault_envelope(ErrorCode.BUSY, message, version)
        if status.startswith("500"):
            body, fault = with_request_id(body, request.request_id, version)
            request.fault = request.fault or fault or ErrorCode.INTERNAL.value
        if request.operation is None:  # refused before dispatch: the SOAPAction says what was meant
            action = environ.get("HTTP_SOAPACTION", "").strip('"')
            request.operation = action if action in OPERATIONS else "unknown"
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body))), ("X-Request-Id", request.request_id)])
        log_request(request)
        request.exc_info = None  # written; its traceback holds this call's frames, which hold the request
        metrics.record_request(request.operation, request.fault, request.seconds, request.timings)
        return [body]

    def _early_refusal(
        self, environ: dict[str, Any], length: int, version: SoapVersion
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """A large UTF-16 request is authenticated from its first bytes, before it is decoded
        (``connector/soap/early.py``): a stranger is refused without the cost. The caller found
        is kept for the SOAP layer (``EARLY_CALLER``: its nonce is spent)."""
        if length < self.stream_threshold_bytes:
            return None
        body = environ.get("wsgi.input")
        try:
            position = body.tell()
            prefix = body.read(PREFIX_BYTES)
            body.seek(position)
        except (AttributeError, OSError, ValueError):
            return None
        if not is_wide(prefix):
            return None
        found = security_headers(prefix, version.value)
        if not found.known:
            return None
        facts = transport_facts(environ, self.trusted_proxies)
        try:
            environ[EARLY_CALLER] = self.runtime.authenticator.authenticate(list(found.security), facts)
        except ConnectorError as exc:
            return (
                "500 Internal Server Error",
                [("Content-Type", version.content_type)],
                fault_envelope(exc.code, exc.message, version),
            )
        return None

    def _slots(self, environ: dict[str, Any], length: int) -> int:
        """What a large request costs the memory budget: a UTF-16 one, all of it (``admission``)."""
        if length <= self.gate.large_request_bytes:
            return 1
        body = environ.get("wsgi.input")
        try:
            position = body.tell()
            first = body.read(2)
            body.seek(position)
        except (AttributeError, OSError, ValueError):  # not a file: no telling, counted as one
            return 1
        return wide_request_slots(first, self.gate.max_large_requests)

    def _spyne(
        self, environ: dict[str, Any], request: RequestContext, version: SoapVersion
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer.update(status=status, headers=headers)
            return lambda data: None  # spyne returns its body; it never calls write()

        try:
            body = b"".join(self.soap[version](environ, capture))
            return answer["status"], answer["headers"], body
        except Exception:
            request.fault, request.exc_info = ErrorCode.INTERNAL.value, sys.exc_info()
            body = fault_envelope(ErrorCode.INTERNAL, "internal error; nothing was stored", version)
            return "500 Internal Server Error", [("Content-Type", version.content_type)], body

    def _metrics(self) -> bytes:
        now = utcnow()
        unstamped: int | None = None
        try:
            stats = self.runtime.store.outbox_stats(now)
            if self.runtime.settings.tsa_url:
                unstamped = len(self.runtime.store.evidence.unstamped_heads())
        except ConnectorError:  # the store is down: the other metrics still matter (readiness says why)
            stats = []
        certs = self._certificates(now)
        warning_days = self.runtime.settings.certificate_warning_days
        return metrics.render(metrics.StateCollector(stats, certs, now, warning_days, unstamped))

    def _certificates(self, now: datetime) -> list[CertificateStatus]:
        config = self.runtime.service.config
        certs = certificates(config.identity, config.policy.trust_anchors)
        self.expiry_reminder.remind(certs, now, self.runtime.settings.certificate_warning_days)
        return certs

    def _index(self) -> bytes:
        url = html.escape(self.public_url)
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edXML connector</title></head>
<body><h1>One-stop &harr; document-management connector</h1>
<p>SOAP 1.1 endpoint: <code>{url}/soap</code>, SOAP 1.2: <code>{url}/soap12</code>
&mdash; WSDL: <a href="{url}/soap?wsdl">{url}/soap?wsdl</a>
(SOAP 1.2: <a href="{url}/soap12?wsdl">{url}/soap12?wsdl</a>)</p>
<p>Checked-in contract: <a href="/wsdl/connector.wsdl">wsdl/connector.wsdl</a>,
<a href="/wsdl/connector-soap12.wsdl">wsdl/connector-soap12.wsdl</a>,
<a href="/schemas/connector.xsd">schemas/connector.xsd</a>, <a href="/schemas/edxml.xsd">schemas/edxml.xsd</a>.</p>
<p>Operations, examples and fault codes: <code>docs/contract.md</code>; a first client in ten minutes:
<code>docs/integration.md</code> (both in the source tree).
Health: <a href="/health/live">/health/live</a>, <a href="/health/ready">/health/ready</a>.</p>
</body></html>""".encode()


def with_request_id(
    body: bytes, request_id: str, version: SoapVersion = SoapVersion.SOAP11
) -> tuple[bytes, str | None]:
    """A fault answer with ``requestId`` added to its typed detail (``tns:ConnectorFault``), and
    its documented code. Anything that is not such a fault comes back unchanged."""
    try:
        envelope = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return body, None
    env = version.value
    detail = "detail" if version is SoapVersion.SOAP11 else f"{{{env}}}Detail"
    typed = envelope.find(f"{{{env}}}Body/{{{env}}}Fault/{detail}/{{{TNS}}}ConnectorFault")
    if typed is None:
        return body, None
    etree.SubElement(typed, f"{{{TNS}}}requestId").text = request_id
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"), typed.findtext(f"{{{TNS}}}code")


def soap_endpoint(
    environ: dict[str, Any],
    start_response: StartResponse,
    wsdl: bytes,
    post: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
) -> Iterable[bytes]:
    """``/soap``, ``/soap12``: the endpoint's pinned WSDL on ``GET ?wsdl``, requests on POST (shared
    with the simulators)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET" and environ.get("QUERY_STRING", "").lower() in ("wsdl", "wsdl=", "wsdl=1"):
        return send(start_response, "200 OK", "text/xml; charset=utf-8", wsdl)
    if method != "POST":
        return send(
            start_response,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"POST a SOAP envelope here (SOAP 1.1 or 1.2); the WSDLs are at /soap?wsdl and /soap12?wsdl\n",
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
