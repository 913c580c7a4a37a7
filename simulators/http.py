"""The HTTP face of a simulator: one WSGI callable.

``POST /soap`` goes to spyne, ``GET /soap?wsdl`` returns the WSDL built once for the configured
address (never from a request's Host header, which spyne would otherwise cache forever), and
``GET /`` returns the simulator's screens as JSON for a person poking at a running simulator, and
``POST /actions/NAME`` with a JSON object presses one of its buttons (load tests and scripts drive
a simulator in another process this way: ``bench/soak.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from connector.edxml import ParseLimits
from connector.serving.app import send, soap_endpoint
from connector.soap.contract import served_wsdl
from connector.soap.spyne_compat import Application, WsgiApplication
from simulators.errors import ActionRefused
from simulators.trust import PACKAGE_LIMIT, MiB

# A delivery carries the package base64-encoded (4/3 of its size) plus a little metadata.
ENVELOPE_LIMIT = PACKAGE_LIMIT * 4 // 3 + 4 * MiB
ENVELOPE_PARSE_LIMITS = ParseLimits(max_bytes=ENVELOPE_LIMIT)
ACTION_LIMIT = 64 * 1024  # an action's JSON: a few fields
StartResponse = Callable[..., Any]
Actions = Callable[[str, dict[str, Any]], dict[str, Any]]


class SoapEndpoint:
    def __init__(
        self,
        application: Application,
        address: str,
        screens: Callable[[], dict[str, Any]],
        max_request_bytes: int = ENVELOPE_LIMIT,
        actions: Actions | None = None,
    ) -> None:
        # WsgiApplication first: it sets the SOAP-over-HTTP transport the WSDL binding names.
        self._soap = WsgiApplication(application, max_content_length=max_request_bytes)
        self.address = address
        self._wsdl = served_wsdl(application, address)
        self._screens = screens
        self._actions = actions

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/soap":
            return soap_endpoint(environ, start_response, self._wsdl, self._soap)
        if path == "/" and environ.get("REQUEST_METHOD", "GET") == "GET":
            body = json.dumps(self._screens(), ensure_ascii=False, indent=2, default=str).encode()
            return send(start_response, "200 OK", "application/json; charset=utf-8", body)
        if path.startswith("/actions/") and environ.get("REQUEST_METHOD") == "POST" and self._actions is not None:
            return self._act(path.removeprefix("/actions/"), environ, start_response)
        return send(start_response, "404 Not Found", "text/plain; charset=utf-8", b"not found; SOAP is at /soap\n")

    def _act(self, name: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        assert self._actions is not None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > ACTION_LIMIT:
                raise ValueError(f"an action's JSON is at most {ACTION_LIMIT} bytes")
            fields = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if not isinstance(fields, dict):
                raise ValueError("the body must be a JSON object")
            status, answer = "200 OK", self._actions(name, fields)
        except ActionRefused as exc:
            status, answer = "409 Conflict", {"error": str(exc)}
        except (KeyError, TypeError, ValueError) as exc:  # a missing or malformed field
            status, answer = "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"}
        body = json.dumps(answer, ensure_ascii=False, default=str).encode()
        return send(start_response, status, "application/json; charset=utf-8", body)
