"""How a partner call ended, classified: the outcome the outbox acts on, the kind of failure,
and the HTTP evidence behind it.

| failure | what happened | outcome |
|---|---|---|
| ``timeout`` | no answer within the read (or connect) timeout | retry |
| ``transport`` | no HTTP answer: refused, reset, DNS, TLS | retry |
| ``http`` | an HTTP status other than 2xx that is no SOAP fault (a proxy's error page, 404, 503) | retry |
| ``server-fault`` | a SOAP Server fault | retry |
| ``client-fault`` | a SOAP Client fault: the partner refuses this message | dead letter |
| ``protocol`` | a 2xx answer that is not the contract's: no ``<accepted>``, no reference, not XML | retry |
| ``contract`` | our own request does not fit the partner's WSDL | dead letter |
| ``internal`` | anything else (a bug on our side) | retry |

Only ``client-fault`` and ``contract`` are answers that say "never"; everything else may succeed
later, and the partner's horizon dead-letters what never does. For the circuit breaker, an
answer is a delivery or a Client fault: the partner is up and judging what it gets.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import requests
import zeep

HEAD_BYTES = 200  # how much of a failed answer's body is kept


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # the same call may succeed later
    REJECTED = "rejected"  # the partner refuses this message; retrying cannot help
    UNAUTHORIZED = "unauthorized"  # the gateway refuses our credentials: the operator must act; items wait
    THROTTLED = "throttled"  # the gateway's quota: come back after ``retry_after`` seconds


class Failure(enum.StrEnum):
    TIMEOUT = "timeout"
    TRANSPORT = "transport"
    HTTP = "http"
    SERVER_FAULT = "server-fault"
    CLIENT_FAULT = "client-fault"
    PROTOCOL = "protocol"
    CONTRACT = "contract"
    INTERNAL = "internal"
    CREDENTIALS = "credentials"  # a gateway refuses the connector's credentials (or a header is missing)
    THROTTLED = "throttled"  # a gateway's quota


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class HttpEvidence:
    """What came back over HTTP: enough to tell a gateway's page from a SOAP fault."""

    status: int
    content_type: str
    head: str
    """The first ``HEAD_BYTES`` bytes of the body, as text on one line."""
    length: int

    @classmethod
    def of(cls, response: requests.Response) -> HttpEvidence:
        body = response.content or b""
        text = _UNPRINTABLE.sub("?", body[:HEAD_BYTES].decode("utf-8", errors="replace"))
        return cls(response.status_code, response.headers.get("Content-Type", "-"), " ".join(text.split()), len(body))

    @property
    def summary(self) -> str:
        return f"HTTP {self.status} {self.content_type}"

    def __str__(self) -> str:
        more = f" … ({self.length:,} bytes)" if self.length > HEAD_BYTES else ""
        return (
            f"HTTP {self.status} {self.content_type}: {self.head!r}{more}"
            if self.length
            else (f"HTTP {self.status} {self.content_type}, empty body")
        )


@dataclass(frozen=True)
class CallResult:
    outcome: Outcome
    reference: str | None = None
    error: str | None = None
    failure: Failure | None = None
    http: HttpEvidence | None = None
    retry_after: float | None = None  # THROTTLED: seconds the gateway asked us to stay away

    def __post_init__(self) -> None:
        if self.outcome is not Outcome.DELIVERED and self.failure is None:
            object.__setattr__(self, "failure", _default_failure(self.outcome))

    @property
    def answered(self) -> bool:
        """The partner is up and judging what it gets (the circuit breaker closes on this)."""
        return self.outcome in (Outcome.DELIVERED, Outcome.THROTTLED) or self.failure in (
            Failure.CLIENT_FAULT,
            Failure.CONTRACT,
        )

    @property
    def recorded_error(self) -> str | None:
        """The attempt's error as stored, always naming its kind: a SOAP fault starts with its
        code (``Client.Rejected: … [client-fault; HTTP 500 text/xml]``), anything else with the
        kind (``http: … [HTTP 502 text/html: '<html>…' … (1,234 bytes)]``); the body's first bytes
        are kept unless the answer was a SOAP fault, which says it all."""
        if self.outcome is Outcome.DELIVERED:
            return None
        message = self.error or "no detail"
        if self.failure in (Failure.CLIENT_FAULT, Failure.SERVER_FAULT):
            http = f"; {self.http.summary}" if self.http is not None else ""
            return f"{message} [{self.failure}{http}]"
        return f"{self.failure}: {message}" + (f" [{self.http}]" if self.http is not None else "")


def _default_failure(outcome: Outcome) -> Failure:
    return {
        Outcome.REJECTED: Failure.CLIENT_FAULT,
        Outcome.UNAUTHORIZED: Failure.CREDENTIALS,
        Outcome.THROTTLED: Failure.THROTTLED,
    }.get(outcome, Failure.INTERNAL)


def classify_exception(exc: BaseException, http: HttpEvidence | None) -> CallResult:
    """Whatever a zeep call raised, as a result."""
    if isinstance(exc, zeep.exceptions.Fault):
        code = (exc.code or "").split(":")[-1]
        if not exc.code or (http is not None and not _is_soap(http)):
            # zeep makes a "fault" of any non-200 XML-ish answer; without a SOAP body it is HTTP's.
            return CallResult(Outcome.RETRY, error=f"not a SOAP fault ({exc.message})", failure=Failure.HTTP, http=http)
        if code.startswith(("Client", "Sender")):
            return CallResult(Outcome.REJECTED, error=f"{code}: {exc.message}", failure=Failure.CLIENT_FAULT, http=http)
        return CallResult(
            Outcome.RETRY, error=f"{code or 'fault'}: {exc.message}", failure=Failure.SERVER_FAULT, http=http
        )
    if isinstance(exc, zeep.exceptions.ValidationError) and http is not None:  # the partner's answer breaks it
        return CallResult(
            Outcome.RETRY, error=f"answer does not fit the contract: {exc}", failure=Failure.PROTOCOL, http=http
        )
    if isinstance(exc, zeep.exceptions.ValidationError):  # our own request breaks the partner's WSDL
        return CallResult(
            Outcome.REJECTED, error=f"request does not fit the partner contract: {exc}", failure=Failure.CONTRACT
        )
    if isinstance(exc, requests.Timeout):
        return CallResult(Outcome.RETRY, error=str(exc), failure=Failure.TIMEOUT)
    if isinstance(exc, requests.RequestException):
        return CallResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}", failure=Failure.TRANSPORT)
    if isinstance(exc, zeep.exceptions.TransportError):
        failure = Failure.PROTOCOL if exc.status_code and 200 <= exc.status_code < 300 else Failure.HTTP
        return CallResult(Outcome.RETRY, error=_first_line(exc.message), failure=failure, http=http)
    if isinstance(exc, zeep.exceptions.Error):
        return CallResult(
            Outcome.RETRY, error=f"{type(exc).__name__}: {_first_line(str(exc))}", failure=_bad(http), http=http
        )
    return CallResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}", failure=_bad(http), http=http)


def _bad(http: HttpEvidence | None) -> Failure:
    """An answer zeep could not make sense of: protocol for a 2xx, HTTP for other statuses."""
    if http is None:
        return Failure.INTERNAL
    return Failure.PROTOCOL if 200 <= http.status < 300 else Failure.HTTP


def _is_soap(http: HttpEvidence) -> bool:
    return "Envelope" in http.head or "xml" in http.content_type.lower()


def _first_line(text: Any) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:300] if lines else ""
