"""The small WSGI toolkit the console needs: requests with form and cookies, responses.

Kept here rather than pulling in a web framework: the console is a handful of server-rendered
pages behind one dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]
MAX_FORM_BYTES = 64 * 1024

SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    environ: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, environ: dict[str, Any]) -> Request:
        method = environ.get("REQUEST_METHOD", "GET")
        form: dict[str, str] = {}
        if method == "POST":
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_FORM_BYTES)
            form = _single(parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace")))
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        return cls(
            method,
            environ.get("PATH_INFO", "/"),
            _single(parse_qs(environ.get("QUERY_STRING", ""))),
            form,
            {k: m.value for k, m in cookie.items()},
            environ,
        )


def _single(values: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in values.items()}


@dataclass
class Response:
    status: str = "200 OK"
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls("303 See Other", b"", headers=[("Location", location)])

    def set_cookie(self, name: str, value: str, max_age: int, path: str = "/admin", secure: bool = False) -> Response:
        """``secure``: sent back by the browser over HTTPS only (behind the TLS proxy)."""
        flags = "; Secure" if secure else ""
        self.headers.append(
            ("Set-Cookie", f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{flags}")
        )
        return self

    def send(self, start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        start_response(self.status, headers + SECURITY_HEADERS + self.headers)
        return [self.body]
