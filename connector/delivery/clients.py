"""zeep clients for the partner systems, loaded from the vendored WSDLs in ``wsdl/``.

One ``zeep.Client`` per WSDL per process (``PartnerClients`` holds them; no globals); each
call binds the service to the partner's configured endpoint. Connect and read timeouts are
always set (zeep's default is to wait forever), the environment's proxy/CA settings are not
inherited, and nothing is retried at the HTTP layer: the outbox retries with the same message id.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep

from connector.delivery.gateway import GatewayTransport
from connector.exchange.directory import SystemKind

WSDL_DIR = Path(__file__).resolve().parents[2] / "wsdl"
WSDLS = {
    SystemKind.DOCMGMT: (WSDL_DIR / "partner-docmgmt.wsdl", "{urn:vn:lienthong:partner:docmgmt:1}DocMgmtPartnerPort"),
    SystemKind.ONESTOP: (WSDL_DIR / "partner-onestop.wsdl", "{urn:vn:lienthong:partner:onestop:1}OnestopPartnerPort"),
}


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transport error, timeout, Server fault: the same call may succeed later
    REJECTED = "rejected"  # a Client fault: the partner refuses this message; retrying cannot help
    UNAUTHORIZED = "unauthorized"  # the gateway refuses our credentials: the operator must act; items wait
    THROTTLED = "throttled"  # the gateway's quota: come back after ``retry_after`` seconds


@dataclass(frozen=True)
class CallResult:
    outcome: Outcome
    reference: str | None = None
    error: str | None = None
    retry_after: float | None = None  # THROTTLED: seconds the gateway asked us to stay away


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0


class PartnerClients:
    def __init__(self, timeouts: Timeouts) -> None:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE/proxies from the environment must not apply
        # requests takes (connect, read); zeep hands operation_timeout straight to requests.
        transport = GatewayTransport(  # headers per call; a gateway's own 401/403/429 raised (gateway.py)
            session=session, timeout=timeouts.connect, operation_timeout=(timeouts.connect, timeouts.read)
        )
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        self._clients = {
            kind: zeep.Client(str(path), transport=transport, settings=settings) for kind, (path, _) in WSDLS.items()
        }

    def call(self, kind: SystemKind, endpoint: str, operation: str, delivery: dict[str, Any]) -> CallResult:
        client = self._clients[kind]
        service = client.create_service(WSDLS[kind][1], endpoint)
        try:
            answer = getattr(service, operation)(delivery=delivery)
        except zeep.exceptions.Fault as fault:
            code = (fault.code or "").split(":")[-1]
            outcome = Outcome.REJECTED if code.startswith("Client") else Outcome.RETRY
            return CallResult(outcome, error=f"{code}: {fault.message}")
        except zeep.exceptions.ValidationError as exc:  # our own request breaks the partner's WSDL
            return CallResult(Outcome.REJECTED, error=f"request does not fit the partner contract: {exc}")
        except requests.Timeout as exc:
            return CallResult(Outcome.RETRY, error=f"timeout: {exc}")
        except requests.RequestException as exc:
            return CallResult(Outcome.RETRY, error=f"transport: {type(exc).__name__}: {exc}")
        except (zeep.exceptions.TransportError, zeep.exceptions.XMLSyntaxError, zeep.exceptions.Error) as exc:
            return CallResult(Outcome.RETRY, error=f"partner answered badly: {exc}")
        return CallResult(Outcome.DELIVERED, reference=answer.reference)
