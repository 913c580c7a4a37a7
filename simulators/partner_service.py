"""The partner services as Spyne applications, and the checked-in WSDLs derived from them.

The connector calls two kinds of partner system (``connector.soap.partner_contracts``): a
document-management system (``DocMgmtPartnerService``) and a one-stop system
(``OnestopPartnerService``). Real partners implement ``wsdl/partner-docmgmt.wsdl`` and
``wsdl/partner-onestop.wsdl``; the simulators implement the small ``DocMgmtPartner`` /
``OnestopPartner`` protocols below and are plugged in as ``application.partner`` (read by the
service methods as ``ctx.app.partner``), so nothing here is global.

Faults follow the connector's rule: ``Client.*`` means "this message will never be accepted"
(the connector dead-letters it without retrying); anything else is ``Server.*`` and retried.

``python -m simulators.partner_service`` rewrites both WSDL files after a contract change.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from connector.edxml import ParseLimits
from connector.soap.contract import served_wsdl, sort_schemas
from connector.soap.partner_contracts import (
    DOCMGMT_NS,
    ONESTOP_NS,
    Accepted,
    DocumentDelivery,
    OnestopAccepted,
    OnestopStatusDelivery,
    ResultDelivery,
    StatusDelivery,
)
from connector.soap.protocol import HardenedSoap11
from connector.soap.spyne_compat import Application, Fault, ServiceBase, Soap11, WsgiApplication, binary, rpc

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DOCMGMT_WSDL_PATH = ROOT / "wsdl" / "partner-docmgmt.wsdl"
ONESTOP_WSDL_PATH = ROOT / "wsdl" / "partner-onestop.wsdl"
# The addresses embedded in the checked-in files: the simulators' default ports (the sample
# directory, connector/data/sample-directory.json, points the connector at them).
DOCMGMT_DEFAULT_ADDRESS = "http://127.0.0.1:8092/soap"
ONESTOP_DEFAULT_ADDRESS = "http://127.0.0.1:8091/soap"
REJECTED = "Client.Rejected"

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"


class PartnerRejection(Exception):
    """Raised by a partner implementation for a request it will never accept (unknown account,
    unknown dossier, a package that is not edXML...): answered as a ``Client.Rejected`` fault."""


@dataclass(frozen=True)
class Acceptance:
    """A partner's answer, framework-free: its own reference and whether the message id was seen."""

    reference: str
    duplicate: bool = False


class DocMgmtPartner(Protocol):
    def deliver_document(self, delivery: DocumentDelivery) -> Acceptance: ...

    def deliver_status(self, delivery: StatusDelivery) -> Acceptance: ...


class OnestopPartner(Protocol):
    def deliver_result(self, delivery: ResultDelivery) -> Acceptance: ...

    def deliver_status(self, delivery: OnestopStatusDelivery) -> Acceptance: ...


def _with_package_bytes(delivery: Any) -> Any:
    delivery.package = binary(delivery.package)
    return delivery


class _PartnerService(ServiceBase):
    @classmethod
    def call_wrapper(cls, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Rejections become Client faults; anything unexpected is a (retryable) Server fault."""
        try:
            return super().call_wrapper(ctx, *args, **kwargs)
        except PartnerRejection as exc:
            raise Fault(faultcode=REJECTED, faultstring=str(exc)) from None
        except Fault:
            raise
        except Exception:
            log.exception("unexpected error in %s", ctx.method_request_string)
            raise Fault(faultcode="Server.Internal", faultstring="internal error; retry later") from None


def _answer(model: type, acceptance: Acceptance) -> Any:
    return model(reference=acceptance.reference, duplicate="true" if acceptance.duplicate else "false")


def _required(model: type) -> type:
    return model.customize(min_occurs=1, nillable=False)


class DocMgmtPartnerService(_PartnerService):
    __service_name__ = "DocMgmtPartnerService"
    __port_types__ = ["DocMgmtPartnerPort"]

    @rpc(_required(DocumentDelivery), _returns=Accepted, _out_variable_name="accepted", _port_type="DocMgmtPartnerPort")
    def deliverDocument(ctx, delivery):  # noqa: N802
        partner: DocMgmtPartner = ctx.app.partner
        return _answer(Accepted, partner.deliver_document(_with_package_bytes(delivery)))

    @rpc(_required(StatusDelivery), _returns=Accepted, _out_variable_name="accepted", _port_type="DocMgmtPartnerPort")
    def deliverStatus(ctx, delivery):  # noqa: N802
        partner: DocMgmtPartner = ctx.app.partner
        return _answer(Accepted, partner.deliver_status(_with_package_bytes(delivery)))


class OnestopPartnerService(_PartnerService):
    __service_name__ = "OnestopPartnerService"
    __port_types__ = ["OnestopPartnerPort"]

    @rpc(
        _required(ResultDelivery),
        _returns=OnestopAccepted,
        _out_variable_name="accepted",
        _port_type="OnestopPartnerPort",
    )
    def deliverResult(ctx, delivery):  # noqa: N802
        partner: OnestopPartner = ctx.app.partner
        return _answer(OnestopAccepted, partner.deliver_result(_with_package_bytes(delivery)))

    @rpc(
        _required(OnestopStatusDelivery),
        _returns=OnestopAccepted,
        _out_variable_name="accepted",
        _port_type="OnestopPartnerPort",
    )
    def deliverStatus(ctx, delivery):  # noqa: N802
        partner: OnestopPartner = ctx.app.partner
        return _answer(OnestopAccepted, partner.deliver_status(_with_package_bytes(delivery)))


def _application(service: type, tns: str, name: str, partner: object | None, limits: ParseLimits) -> Application:
    # The connector's hardened SOAP parser (no DTD, no entities, depth cap) ...
    protocol = HardenedSoap11(None, limits)
    application = Application([service], tns=tns, name=name, in_protocol=protocol, out_protocol=Soap11())
    # ... validating the body against the schema spyne derives from the contract models: here
    # the models *are* the contract (unlike the connector's, which has a hand-kept XSD).
    xml_schema = application.interface.docs.xml_schema
    xml_schema.build_validation_schema()
    protocol.body_schema = xml_schema.validation_schema
    application.partner = partner
    return application


def build_docmgmt_application(
    partner: DocMgmtPartner | None = None, limits: ParseLimits = ParseLimits()
) -> Application:
    return _application(DocMgmtPartnerService, DOCMGMT_NS, "DocMgmtPartner", partner, limits)


def build_onestop_application(
    partner: OnestopPartner | None = None, limits: ParseLimits = ParseLimits()
) -> Application:
    return _application(OnestopPartnerService, ONESTOP_NS, "OnestopPartner", partner, limits)


def checked_in_wsdl(application: Application, address: str, documentation: str) -> bytes:
    wsdl = etree.fromstring(served_wsdl(application, address))
    sort_schemas(wsdl)
    docs = etree.Element(f"{{{WSDL}}}documentation")
    docs.text = documentation
    wsdl.insert(0, docs)
    return etree.tostring(wsdl, pretty_print=True, xml_declaration=True, encoding="UTF-8")


DOCMGMT_DOC = (
    "Partner contract of a document-management system (QLVB, e.g. eOffice) called by the one-stop <-> "
    "document-management connector: deliverDocument (a dossier's signed edXML package into the clerk's "
    "registration queue or an officer's drafts) and deliverStatus (statuses from the one-stop side). "
    "De-duplicate by messageId; answer Client.* faults only for requests that can never succeed. "
    "Generated by python -m simulators.partner_service; the address is the simulator's default."
)
ONESTOP_DOC = (
    "Partner contract of a one-stop system (một cửa, e.g. iGate) called by the one-stop <-> "
    "document-management connector: deliverResult (the issued, signed result file for a dossier) and "
    "deliverStatus (the agency's statuses). De-duplicate by messageId; answer Client.* faults only for "
    "requests that can never succeed. Generated by python -m simulators.partner_service; the address is the "
    "simulator's default."
)


def write(directory: Path = ROOT / "wsdl") -> list[Path]:
    """Write both WSDLs into ``directory`` (a test writes them elsewhere to check they are current)."""
    written = []
    for application, address, documentation, name in (
        (build_docmgmt_application(), DOCMGMT_DEFAULT_ADDRESS, DOCMGMT_DOC, DOCMGMT_WSDL_PATH.name),
        (build_onestop_application(), ONESTOP_DEFAULT_ADDRESS, ONESTOP_DOC, ONESTOP_WSDL_PATH.name),
    ):
        # Serving it sets the SOAP-over-HTTP transport the binding names (else spyne writes "noconn://").
        WsgiApplication(application)
        path = directory / name
        path.write_bytes(checked_in_wsdl(application, address, documentation))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path}", file=sys.stderr)
