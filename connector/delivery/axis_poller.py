"""Inbound from the national document axis: a poller per ``vxp`` system.

Every ``interval`` seconds, for each system with ``protocol = "vxp"``: ``getReceivedEdocList``,
then for each document ``getEdoc`` and the same pipeline as a SOAP call from that system –
``updateStatus`` for a status package (``messagetype=status``), ``publishResult`` for a document
that answers an exchange (its ``ResponseFor`` names the document the connector sent: the
agency's issued result) – signature, validation, routing, de-duplication, evidence. Only after
the exchange is stored is the axis told ``done``; a package the pipeline refuses is answered
``fail`` with the fault's reason; a server-side failure is not answered (the next poll retries).

Crash between store and acknowledgement: the message id of an axis document is derived from its
``docId`` (``message_id_of``), so the replayed document is the same request to the pipeline,
whose idempotency answers it with the first receipt – no second exchange – and the
acknowledgement is sent then.
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests

from connector.auth.caller import AuthMethod, Caller
from connector.delivery.vxp import AxisClient, AxisError, ReceivedEdoc
from connector.edxml import DocumentPackage, EdxmlError, ParseLimits, parse
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.directory import PartnerAuthType, Protocol, SystemEntry
from connector.exchange.requests import IssueInfo, PublishResultRequest, UpdateStatusRequest
from connector.exchange.service import ExchangeService

log = logging.getLogger(__name__)
AXIS_NAMESPACE = uuid.UUID("6f1d3a52-5b1e-4c57-9d8e-4f0c2a6b7e10")


class Handled(enum.StrEnum):
    STORED = "stored"  # the pipeline took it (or had taken it: a replay) and the axis was told done
    REFUSED = "refused"  # the pipeline refused it; the axis was told fail with the reason
    LEFT = "left"  # not answered: the next poll tries again


@dataclass(frozen=True)
class PolledEdoc:
    system_id: str
    doc_id: str
    handled: Handled
    detail: str = ""


def message_id_of(system_id: str, doc_id: str) -> str:
    """The pipeline's message id of an axis document: the same on every poll."""
    return str(uuid.uuid5(AXIS_NAMESPACE, f"{system_id}/{doc_id}"))


class AxisPoller:
    def __init__(
        self,
        service: ExchangeService,
        secrets: Callable[[str], str | None],
        interval: float = 30.0,
        timeout: tuple[float, float] = (5.0, 30.0),
        limits: ParseLimits | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.secrets = secrets
        self.interval = interval
        self.timeout = timeout
        self.limits = limits or ParseLimits()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.acknowledge: Callable[[AxisClient, str, str, str], None] = lambda c, d, s, why: c.update_status(d, s, why)

    def systems(self) -> list[SystemEntry]:
        return [
            s
            for s in self.store.directory().systems
            if s.protocol is Protocol.VXP and s.endpoint and s.auth and s.auth.type is PartnerAuthType.VXP_HMAC
        ]

    def poll_once(self) -> list[PolledEdoc]:
        polled: list[PolledEdoc] = []
        for system in self.systems():
            secret = self.secrets(system.system_id)
            if not secret or system.auth is None or system.auth.system_id is None or system.endpoint is None:
                log.error("axis system %s: no key (credentials set-partner); not polled", system.system_id)
                continue
            client = AxisClient(system.endpoint, system.auth.system_id, secret, self.timeout)
            try:
                received = client.received()
            except (AxisError, requests.RequestException) as exc:
                log.warning("axis system %s: getReceivedEdocList failed: %s", system.system_id, exc)
                continue
            for edoc in received:
                polled.append(self._one(system, client, edoc))
        return polled

    def _one(self, system: SystemEntry, client: AxisClient, edoc: ReceivedEdoc) -> PolledEdoc:
        try:
            package = client.get_edoc(edoc.doc_id)
        except (AxisError, requests.RequestException) as exc:
            return PolledEdoc(system.system_id, edoc.doc_id, Handled.LEFT, f"getEdoc: {exc}")
        caller = Caller(system, AuthMethod.AXIS)
        message_id = message_id_of(system.system_id, edoc.doc_id)
        try:
            if edoc.messagetype == "status":
                self.service.update_status(UpdateStatusRequest(message_id, package), caller)
            else:
                self.service.publish_result(self._result_request(message_id, package), caller)
        except ConnectorError as exc:
            if exc.code.value.startswith("Server."):
                log.warning("axis document %s from %s: %s; left for the next poll", edoc.doc_id, system.system_id, exc)
                return PolledEdoc(system.system_id, edoc.doc_id, Handled.LEFT, str(exc))
            reason = f"{exc.code.value}: {exc}"
            return self._ack(system, client, edoc, "fail", reason, Handled.REFUSED)
        return self._ack(system, client, edoc, "done", "", Handled.STORED)

    def _ack(
        self, system: SystemEntry, client: AxisClient, edoc: ReceivedEdoc, status: str, reason: str, handled: Handled
    ) -> PolledEdoc:
        try:
            self.acknowledge(client, edoc.doc_id, status, reason)
        except (AxisError, requests.RequestException) as exc:  # stored: the next poll replays and acknowledges
            log.warning("axis document %s: updateStatus %s failed: %s", edoc.doc_id, status, exc)
            return PolledEdoc(system.system_id, edoc.doc_id, Handled.LEFT, f"stored, not acknowledged: {exc}")
        log.info("axis document %s from %s: %s %s", edoc.doc_id, system.system_id, status, reason)
        return PolledEdoc(system.system_id, edoc.doc_id, handled, reason)

    def _result_request(self, message_id: str, package: bytes) -> PublishResultRequest:
        """publishResult's arguments, read from the document (the pipeline verifies it after:
        these only find the exchange and must agree with what was signed)."""
        try:
            document = parse(package, self.limits)
        except EdxmlError as exc:
            raise ConnectorError(ErrorCode.PACKAGE_INVALID, f"not an edXML document: {exc}") from None
        if not isinstance(document, DocumentPackage) or not document.response_for:
            raise ConnectorError(
                ErrorCode.PACKAGE_INVALID,
                "a document from the axis must answer a document the connector sent (ResponseFor)",
            )
        answered = self.store.exchange_by_document_id(document.response_for[0].document_id or "")
        if answered is None or not answered.onestop_number:
            raise ConnectorError(ErrorCode.UNKNOWN_DOCUMENT, "ResponseFor names no exchange of this connector")
        date = document.promulgation.date or datetime.now().date()
        signer = document.signer
        issue = IssueInfo(
            str(document.code),
            date,
            signer.full_name if signer else None,
            signer.position if signer else None,
        )
        return PublishResultRequest(message_id, package, answered.onestop_number, issue)

    # ---- as threads of the server ------------------------------------------------------------
    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the poller must outlive a bad document or a store hiccup
                log.exception("axis poller")
            self._stop.wait(self.interval)

    def start(self) -> AxisPoller:
        self._thread = threading.Thread(target=self.run, name="axis-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout[0] + self.timeout[1] + 5)
