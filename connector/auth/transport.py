"""What the HTTP layer knows about a request: TLS or not, the client's address, a verified client
certificate, an ``Authorization: Basic`` header.

The connector itself serves plain HTTP (waitress); TLS and client certificates are terminated by a
reverse proxy (nginx, see docs/security.md) that passes ``X-Forwarded-Proto``, ``X-Real-IP``,
``X-SSL-Client-Verify`` and ``X-SSL-Client-Cert``. Those headers are believed only when the
request comes from an address in ``trusted_proxies``; from anywhere else they are ignored.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from cryptography import x509

from signing import fingerprint_sha256


@dataclass(frozen=True)
class TransportFacts:
    tls: bool
    client_address: str
    certificate_sha256: str | None = None  # a client certificate the proxy verified
    basic: tuple[str, str] | None = field(default=None, repr=False)  # (username, password)
    basic_malformed: bool = False
    untrusted_proxy_headers: bool = False  # proxy headers arrived from an untrusted address
    gateway_assertion: str | None = field(default=None, repr=False)  # from a trusted API gateway only
    untrusted_assertion: bool = False  # an assertion header arrived from another address: ignored


_PROXY_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP", "HTTP_X_SSL_CLIENT_CERT", "HTTP_X_SSL_CLIENT_VERIFY")


def transport_facts(
    environ: Mapping[str, Any],
    trusted_proxies: frozenset[str],
    assertion_header: str = "",
    gateways: frozenset[str] = frozenset(),
) -> TransportFacts:
    """``assertion_header``/``gateways``: an API gateway's JWT header, believed from those
    addresses only (connector/auth/gateway_jwt.py)."""
    facts = _transport_facts(environ, trusted_proxies)
    if not assertion_header:
        return facts
    value = environ.get("HTTP_" + assertion_header.upper().replace("-", "_"))
    if not value:
        return facts
    if str(environ.get("REMOTE_ADDR") or "") not in gateways:
        return dataclasses.replace(facts, untrusted_assertion=True)
    return dataclasses.replace(facts, gateway_assertion=str(value))


def _transport_facts(environ: Mapping[str, Any], trusted_proxies: frozenset[str]) -> TransportFacts:
    peer = str(environ.get("REMOTE_ADDR") or "")
    basic, malformed = _basic(environ.get("HTTP_AUTHORIZATION"))
    if peer not in trusted_proxies:
        spoofed = any(h in environ for h in _PROXY_HEADERS)
        return TransportFacts(environ.get("wsgi.url_scheme") == "https", peer, None, basic, malformed, spoofed)
    tls = str(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower() == "https"
    client = str(environ.get("HTTP_X_REAL_IP") or peer)
    fingerprint = None
    if tls and environ.get("HTTP_X_SSL_CLIENT_VERIFY") == "SUCCESS" and environ.get("HTTP_X_SSL_CLIENT_CERT"):
        fingerprint = _fingerprint(unquote(str(environ["HTTP_X_SSL_CLIENT_CERT"])))
    return TransportFacts(tls, client, fingerprint, basic, malformed)


def _fingerprint(pem: str) -> str | None:
    try:
        return fingerprint_sha256(x509.load_pem_x509_certificate(pem.encode("ascii")))
    except (ValueError, UnicodeEncodeError):
        return None


def _basic(header: object) -> tuple[tuple[str, str] | None, bool]:
    if not isinstance(header, str) or not header:
        return None, False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, True
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None, True
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        return None, True
    return (username, password), False
