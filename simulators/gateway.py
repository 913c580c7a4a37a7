"""A WSO2-API-Manager-like gateway (an LGSP, the NGSP) in front of any partner:
``python -m simulators gateway --port P --upstream URL``.

What it does, as WSO2 does it:
- ``POST /token``: OAuth2 client credentials (client id and secret as HTTP Basic or form
  fields); answers ``{"access_token", "token_type": "Bearer", "expires_in"}``, or 401
  ``{"error": "invalid_client"}``. Tokens expire after ``token_ttl`` seconds.
- every other path is an API call: without ``Authorization: Bearer`` → 401 JSON fault 900902
  (Missing Credentials); an unknown or expired token → 401 900901 (Invalid Credentials); with
  ``throttle_every`` = N, every Nth call → 429 with a WSO2 throttling code (``Retry-After`` when
  ``retry_after`` is set); otherwise the call goes to ``upstream`` + path unchanged, the
  ``Authorization`` header removed and ``X-JWT-Assertion`` (configurable) added: a JWT about the
  calling application (WSO2's claims), RS256-signed with the gateway's own key, whose public half
  is at ``GET /jwks`` (and in ``--jwks-out`` / ``--public-key-out`` files). A caller's own
  ``X-JWT-Assertion`` is dropped.
- ``routes`` publish more APIs, each under its own path prefix (WSO2's API context).
- ``POST /_revoke`` revokes every token (a gateway restart, a key rotation); ``GET /_stats``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WSO2_ISSUER = "wso2.org/products/am"
APP_CLAIM = "http://wso2.org/claims/applicationname"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "authorization"}


@dataclass(frozen=True)
class GatewayClient:
    """An application registered at the gateway (WSO2's Applications → Production keys)."""

    client_id: str
    client_secret: str
    application: str  # the application's name: the JWT's applicationname claim


@dataclass
class GatewayConfig:
    upstream: str
    clients: list[GatewayClient] = field(default_factory=list)
    token_ttl: float = 3600.0
    throttle_every: int = 0  # 0: never throttle
    throttle_code: int = 900802
    retry_after: int | None = None
    jwt_header: str = "X-JWT-Assertion"
    jwt_ttl: float = 900.0
    key: rsa.RSAPrivateKey | None = None  # made at start when not given
    routes: dict[str, str] = field(default_factory=dict)
    """More published APIs: a path prefix (WSO2's API context, e.g. ``/connector``) → its
    upstream, the prefix removed; every other path goes to ``upstream``."""


def wso2_fault(code: int, message: str, description: str) -> bytes:
    return json.dumps({"fault": {"code": code, "message": message, "description": description}}).encode()


class GatewaySimulator:
    def __init__(self, config: GatewayConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.key = config.key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]
        self._tokens: dict[str, tuple[GatewayClient, float]] = {}
        self._lock = threading.Lock()
        self._calls = 0
        self.stats: Counter[str] = Counter()
        self.seen: list[dict[str, str]] = []  # the API calls' incoming headers (the tests look)
        self._session = requests.Session()
        self._session.trust_env = False

    # ---- the gateway's keys ------------------------------------------------------------
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [jwk | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def assertion(self, client: GatewayClient) -> str:
        now = int(self.clock())
        claims = {
            "iss": WSO2_ISSUER,
            "iat": now,
            "exp": now + int(self.config.jwt_ttl),
            "http://wso2.org/claims/subscriber": client.client_id,
            "http://wso2.org/claims/applicationid": client.client_id,
            APP_CLAIM: client.application,
            "http://wso2.org/claims/applicationtier": "Unlimited",
            "http://wso2.org/claims/keytype": "PRODUCTION",
            "http://wso2.org/claims/enduser": f"{client.client_id}@carbon.super",
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    # ---- tokens ------------------------------------------------------------------------
    def issue(self, client: GatewayClient) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (client, self.clock() + self.config.token_ttl)
            self.stats["tokens"] += 1
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.config.token_ttl),
            "scope": "default",
        }

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _client(self, environ: dict[str, Any], form: dict[str, list[str]]) -> GatewayClient | None:
        client_id = secret = None
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
        else:
            client_id, secret = (form.get("client_id") or [None])[0], (form.get("client_secret") or [None])[0]
        for client in self.config.clients:
            if client.client_id == client_id and secrets.compare_digest(client.client_secret, secret or ""):
                return client
        return None

    # ---- WSGI --------------------------------------------------------------------------
    def wsgi_app(self, address: str = "") -> Callable[..., Iterable[bytes]]:
        return self.__call__

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ["REQUEST_METHOD"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if path == "/token" and method == "POST":
            return self._token(environ, body, start_response)
        if path == "/jwks":
            return _json(start_response, "200 OK", self.jwks())
        if path == "/_stats":
            return _json(start_response, "200 OK", dict(self.stats))
        if path == "/_revoke" and method == "POST":
            self.revoke_all()
            return _json(start_response, "200 OK", {"revoked": True})
        return self._api(environ, path, method, body, start_response)

    def _token(self, environ: dict[str, Any], body: bytes, start_response: Callable[..., Any]) -> Iterable[bytes]:
        form = parse_qs(body.decode("utf-8", "replace"))
        if (form.get("grant_type") or [None])[0] != "client_credentials":
            return _json(start_response, "400 Bad Request", {"error": "unsupported_grant_type"})
        client = self._client(environ, form)
        if client is None:
            self.stats["token_refused"] += 1
            return _json(
                start_response,
                "401 Unauthorized",
                {"error": "invalid_client", "error_description": "Client Authentication failed."},
            )
        return _json(start_response, "200 OK", self.issue(client))

    def _api(
        self, environ: dict[str, Any], path: str, method: str, body: bytes, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        self.seen.append({k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")})
        del self.seen[:-100]
        if not header.lower().startswith("bearer "):
            self.stats["401"] += 1
            return _fault(
                start_response,
                "401 Unauthorized",
                900902,
                "Missing Credentials",
                "Invalid Credentials. "
                "Make sure your API invocation call has a header: 'Authorization : Bearer ACCESS_TOKEN'",
            )
        with self._lock:
            entry = self._tokens.get(header[7:].strip())
            self._calls += 1
            call = self._calls
        if entry is None or entry[1] <= self.clock():
            self.stats["401"] += 1
            return _fault(
                start_response,
                "401 Unauthorized",
                900901,
                "Invalid Credentials",
                "Access failure for API: invalid or expired token",
            )
        if self.config.throttle_every and call % self.config.throttle_every == 0:
            self.stats["429"] += 1
            extra = [("Retry-After", str(self.config.retry_after))] if self.config.retry_after is not None else []
            return _fault(
                start_response,
                "429 Too Many Requests",
                self.config.throttle_code,
                "Message throttled out",
                "You have exceeded your quota",
                extra,
            )
        client = entry[0]
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")} | {
            "Content-Type": environ.get("CONTENT_TYPE", "")
        }
        headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and v}
        headers = {k: v for k, v in headers.items() if k.lower() != self.config.jwt_header.lower()}
        headers[self.config.jwt_header] = self.assertion(client)
        upstream = self.config.upstream
        for prefix, target in self.config.routes.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                upstream, path = target, path[len(prefix.rstrip("/")) :] or "/"
                break
        query = f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
        url = upstream.rstrip("/") + path + query
        try:
            answer = self._session.request(method, url, data=body, headers=headers, timeout=(5, 60))
        except requests.RequestException as exc:
            self.stats["502"] += 1
            return _fault(start_response, "502 Bad Gateway", 101503, "Runtime Error", f"upstream: {exc}")
        self.stats["forwarded"] += 1
        passed = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{answer.status_code} {answer.reason or ''}".strip(), passed)
        return [answer.content]


def _json(
    start_response: Callable[..., Any], status: str, data: Any, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"), *(extra or [])])
    return [body]


def _fault(
    start_response: Callable[..., Any],
    status: str,
    code: int,
    message: str,
    description: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json; charset=UTF-8"), *(extra or [])])
    return [wso2_fault(code, message, description)]


def parse_client(text: str) -> GatewayClient:
    """``ID:SECRET:APPLICATION`` (the command line's ``--client``)."""
    client_id, secret, application = (text.split(":", 2) + ["", ""])[:3]
    if not (client_id and secret):
        raise ValueError(f"--client {text!r}: expected ID:SECRET[:APPLICATION]")
    return GatewayClient(client_id, secret, application or client_id)


def write_keys(simulator: GatewaySimulator, jwks_out: Path | None, public_key_out: Path | None) -> None:
    if jwks_out:
        jwks_out.write_text(json.dumps(simulator.jwks(), indent=2), encoding="utf-8")
    if public_key_out:
        public_key_out.write_bytes(simulator.public_pem())
