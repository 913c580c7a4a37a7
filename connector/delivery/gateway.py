"""Calling a partner through an API gateway (an LGSP or the NGSP, most often WSO2 API Manager).

The gateway passes SOAP through unchanged, but answers for itself when it will not: 401/403 with
a JSON fault for a missing, expired or refused token, 429 with a WSO2 throttling code (900800 –
900807) when the application is over its quota. ``GatewayTransport`` is the zeep transport of the
partner clients: it adds the call's extra headers (a bearer token, a partner's static headers,
set around one call with ``extra_headers``) and turns the gateway's own refusals into
``GatewayRefusal`` before zeep tries to read them as SOAP. Everything else (a SOAP answer or
fault, a 5xx, HTML or JSON where SOAP was due) goes on to zeep and the clients' usual rules.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from zeep.transports import Transport

from connector.errors import SimpleError

REFUSING_STATUSES = frozenset({401, 403, 429})
# WSO2 API Manager's throttling codes and how long to leave the partner alone when the answer
# names no time (quotas are per minute unless an operator's policy says otherwise).
WSO2_THROTTLE_WAIT = {
    900800: 60.0,  # API level limit exceeded ("Message throttled out")
    900801: 60.0,  # hard limit (the API's backend quota)
    900802: 60.0,  # resource level limit
    900803: 60.0,  # application level limit
    900804: 60.0,  # subscription level limit
    900805: 600.0,  # blocked by a blocking condition: an operator at the gateway must lift it
    900806: 60.0,  # custom policy limit
    900807: 1.0,  # burst control (spike arrest): requests per second
}
DEFAULT_THROTTLE_WAIT = 60.0
_NEXT_ACCESS = re.compile(r"nextAccessTime\s*:\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)")
_ENV_VALUE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

_extra: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("partner_headers", default=None)


class GatewayRefusal(SimpleError):  # noqa: N818 - an answer, not a failure of ours
    """The gateway answered for itself (401, 403, 429) instead of passing the call on."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.code, self.reason = wso2_fault(body)
        self.retry_after = retry_after(headers, self.code, self.reason) if status == 429 else None
        super().__init__(f"gateway answered HTTP {status}" + (f" {self.code} {self.reason}" if self.code else ""))


class HeaderConfigError(SimpleError):
    """A partner's static header names an environment variable that is not set."""


def wso2_fault(body: bytes) -> tuple[int | None, str]:
    """WSO2's JSON fault ``{"fault": {"code": 900901, "message": ..., "description": ...}}``
    (or a bare ``{"code": ..., "message": ...}``): its code and text, when the body is one."""
    try:
        data = json.loads(body[:65536])
    except (ValueError, UnicodeDecodeError):
        return None, ""
    fault = data.get("fault", data) if isinstance(data, dict) else None
    if not isinstance(fault, dict):
        return None, ""
    try:
        code = int(fault.get("code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        code = None
    text = " – ".join(str(fault[k]) for k in ("message", "description") if fault.get(k))
    return code, text[:300]


def retry_after(headers: Mapping[str, str], code: int | None, reason: str, now: datetime | None = None) -> float:
    """Seconds to leave a throttled partner alone: ``Retry-After`` (seconds or an HTTP date),
    else WSO2's ``nextAccessTime`` in the fault, else the wait its code stands for."""
    now = now or datetime.now(UTC)
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        with contextlib.suppress(TypeError, ValueError):
            return max((email.utils.parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    match = _NEXT_ACCESS.search(reason)
    if match:
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(match.group(1).replace(" ", "T")).replace(tzinfo=UTC)
            return max((at - now).total_seconds(), 0.0)
    return WSO2_THROTTLE_WAIT.get(code or 0, DEFAULT_THROTTLE_WAIT)


def expand_headers(headers: tuple[tuple[str, str], ...], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A partner's static headers; a value ``${NAME}`` is the environment variable NAME (secrets
    stay out of the directory file)."""
    env = os.environ if environ is None else environ
    expanded = {}
    for name, value in headers:
        match = _ENV_VALUE.match(value)
        if match:
            if match.group(1) not in env:
                raise HeaderConfigError(f"header {name}: the environment variable {match.group(1)} is not set")
            value = env[match.group(1)]
        expanded[name] = value
    return expanded


@contextlib.contextmanager
def extra_headers(headers: Mapping[str, str]) -> Iterator[None]:
    """The HTTP headers the partner calls made inside this block carry besides zeep's own."""
    token = _extra.set(headers)
    try:
        yield
    finally:
        _extra.reset(token)


class GatewayTransport(Transport):
    """zeep's transport, adding the call's headers and raising ``GatewayRefusal`` for a gateway's
    own refusals."""

    def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
        extra = _extra.get()
        if extra:
            headers = {**headers, **extra}
        response = super().post(address, message, headers)
        if response.status_code in REFUSING_STATUSES:
            raise GatewayRefusal(response.status_code, response.headers, response.content)
        return response
