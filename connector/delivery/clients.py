"""zeep clients for the partner systems, loaded from the vendored WSDLs in ``wsdl/``.

One ``zeep.Client`` per WSDL per process (``PartnerClients`` holds them; no globals); each
call binds the service to the partner's configured endpoint. Connect and read timeouts are
always set (zeep's default is to wait forever), the environment's proxy/CA settings are not
inherited, and nothing is retried at the HTTP layer: the outbox retries with the same message id.

Every way a call can end becomes a ``CallResult`` with an ``Outcome`` and, unless it was
delivered, a ``Failure`` kind (``classify.py``) – any HTTP status, any body, any exception: the
worker always records an attempt. The HTTP answer behind a failure (status, content type, the
first bytes of the body) is kept in the error, so a proxy's error page is told from a SOAP fault.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep

from connector.delivery.classify import CallResult, Failure, HttpEvidence, Outcome, classify_exception
from connector.delivery.gateway import GatewayRefusal, GatewayTransport
from connector.exchange.directory import SystemKind

WSDL_DIR = Path(__file__).resolve().parents[2] / "wsdl"
WSDLS = {
    SystemKind.DOCMGMT: (WSDL_DIR / "partner-docmgmt.wsdl", "{urn:vn:lienthong:partner:docmgmt:1}DocMgmtPartnerPort"),
    SystemKind.ONESTOP: (WSDL_DIR / "partner-onestop.wsdl", "{urn:vn:lienthong:partner:onestop:1}OnestopPartnerPort"),
}

__all__ = ["CallResult", "Failure", "Outcome", "PartnerClients", "Timeouts", "WSDLS"]


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0


class RecordingTransport(GatewayTransport):
    """The gateway-aware transport (headers per call; a gateway's own 401/403/429 raised, see
    ``gateway.py``), remembering (per thread) the HTTP answer of the last call it made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last = threading.local()

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        self._last.response = None
        response = super().post(address, message, headers)
        self._last.response = response
        return response

    def forget(self) -> None:
        self._last.response = None

    def last_answer(self) -> HttpEvidence | None:
        response: requests.Response | None = getattr(self._last, "response", None)
        return HttpEvidence.of(response) if response is not None else None


class PartnerClients:
    def __init__(self, timeouts: Timeouts) -> None:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE/proxies from the environment must not apply
        # requests takes (connect, read); zeep hands operation_timeout straight to requests.
        self._transport = RecordingTransport(
            session=session, timeout=timeouts.connect, operation_timeout=(timeouts.connect, timeouts.read)
        )
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        self._clients = {
            kind: zeep.Client(str(path), transport=self._transport, settings=settings)
            for kind, (path, _) in WSDLS.items()
        }

    def call(self, kind: SystemKind, endpoint: str, operation: str, delivery: dict[str, Any]) -> CallResult:
        """Call the partner; never raises: every ending is a classified ``CallResult``."""
        self._transport.forget()
        try:
            service = self._clients[kind].create_service(WSDLS[kind][1], endpoint)
            answer = getattr(service, operation)(delivery=delivery)
        except GatewayRefusal:
            raise  # the gateway answered for itself: the protocols layer decides (protocols.py)
        except Exception as exc:  # every ending is an attempt: classified, never raised
            return classify_exception(exc, self._transport.last_answer())
        return accepted(answer, self._transport.last_answer())


def accepted(answer: Any, http: HttpEvidence | None) -> CallResult:
    """A 2xx answer. The partner contract: only an ``<accepted>`` element with a non-empty
    ``reference`` confirms that the partner took the message. An answer without one – an empty
    body, an empty ``<accepted/>``, a 202 with nothing – is a protocol error and is retried with the
    same message id (the partner's de-duplication makes that safe); docs/delivery.md."""
    reference = getattr(answer, "reference", None) if answer is not None else None
    if reference is None or not str(reference).strip():
        what = "no <accepted> element" if answer is None else "<accepted> without a reference"
        return CallResult(Outcome.RETRY, failure=Failure.PROTOCOL, error=f"the partner's answer has {what}", http=http)
    return CallResult(Outcome.DELIVERED, reference=str(reference))
