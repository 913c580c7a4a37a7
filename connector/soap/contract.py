"""The published SOAP contract: the Spyne application, and the checked-in artefacts derived
from it (``schemas/connector.xsd``, ``wsdl/connector.wsdl``, ``wsdl/connector-soap12.wsdl``).

``python -m connector.soap.contract`` rewrites them after a model change. The server publishes
the checked-in WSDLs themselves, with only the address replaced (``published_wsdl``), so
integrators can generate a client from either; a test checks that the files are what the models
generate. Each WSDL is self-contained (the schema inline, as in ``schemas/connector.xsd``),
declares only the namespaces it uses, and describes **one** endpoint: ``/soap?wsdl`` the SOAP 1.1
binding and port, ``/soap12?wsdl`` the SOAP 1.2 ones. One endpoint per document because client
generators read a WSDL literally: Axis 1.4 cannot read faults on a SOAP 1.2 binding at all,
gSOAP's default endpoint merged both bindings, node-soap's shortcut took the last port.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from connector.edxml import ParseLimits
from connector.soap.context import Bind
from connector.soap.faults import SoapVersion, TypedFaultsSoap11, TypedFaultsSoap12
from connector.soap.models import TNS
from connector.soap.protocol import HardenedSoap11, HardenedSoap12
from connector.soap.service import ConnectorService
from connector.soap.spyne_compat import Application, WsgiApplication, release_when_closed

ROOT = Path(__file__).resolve().parents[2]
XSD_PATH = ROOT / "schemas" / "connector.xsd"
WSDL_PATH = ROOT / "wsdl" / "connector.wsdl"
WSDL12_PATH = ROOT / "wsdl" / "connector-soap12.wsdl"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
# The address written into the checked-in WSDL; a server replaces it with its public_url.
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
PATHS = {SoapVersion.SOAP11: "/soap", SoapVersion.SOAP12: "/soap12"}
SOAP12_PORT = "ConnectorPortSoap12"  # the SOAP 1.2 binding's and port's name (as before the split)
WSDL_PATHS = {SoapVersion.SOAP11: WSDL_PATH, SoapVersion.SOAP12: WSDL12_PATH}
_DOCUMENTATION = (
    "One-stop <-> document-management connector (edXML, QCVN 102:2016). Operations, faults and examples: "
    "docs/contract.md; a first client in ten minutes: docs/integration.md. This document describes the {label} "
    "endpoint ({path}); the {other} one has its own WSDL at {other_path}?wsdl (both endpoints also accept the "
    "other version's envelopes and answer in the version of the request). Faults: soap:Client or soap:Server, the "
    "documented code in the typed detail tns:ConnectorFault. The address is the embedded default; servers publish "
    "their own at {path}?wsdl."
)


def body_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_PATH), parser))


def build_application(
    limits: ParseLimits,
    validate: bool = True,
    bind: Bind | None = None,
    version: SoapVersion = SoapVersion.SOAP11,
) -> Application:
    schema = body_schema() if validate else None
    reader, writer = (
        (HardenedSoap11, TypedFaultsSoap11) if version is SoapVersion.SOAP11 else (HardenedSoap12, TypedFaultsSoap12)
    )
    application = Application(
        [ConnectorService],
        tns=TNS,
        name="Connector",
        in_protocol=reader(
            schema,
            limits,
            bind=bind,
            schema_path=XSD_PATH if validate else None,
            contract_namespace=TNS,
        ),
        out_protocol=writer(),
    )
    return release_when_closed(application)


def published_wsdl(base_url: str, version: SoapVersion = SoapVersion.SOAP11, checked_in: bytes | None = None) -> bytes:
    """The checked-in WSDL of ``version``'s endpoint with the server's address (``base_url`` +
    ``/soap`` or ``/soap12``): byte for byte the same document otherwise. Built once at
    start-up, never from a Host header."""
    document = WSDL_PATHS[version].read_bytes() if checked_in is None else checked_in
    address = escape(base_url, {'"': "&quot;"})
    return document.replace(f'location="{DEFAULT_BASE_URL}/'.encode(), f'location="{address}/'.encode())


def served_wsdl(application: Application, address: str) -> bytes:
    """Build the interface document once, for a configured address (never the Host header)."""
    application.interface.docs.wsdl11.build_interface_document(address)
    return application.interface.docs.wsdl11.get_interface_document()


_SCHEMA_ORDER = {f"{{{XS}}}import": 0, f"{{{XS}}}simpleType": 1, f"{{{XS}}}complexType": 2, f"{{{XS}}}element": 3}


def sort_schemas(wsdl: etree._Element) -> None:
    """spyne emits types in set order, which changes with hash randomisation; sorted, the
    checked-in file is the same on every run (order inside a schema carries no meaning)."""
    types = wsdl.find(f"{{{WSDL}}}types")
    schemas = sorted(types, key=lambda s: s.get("targetNamespace", ""))
    for schema in schemas:
        schema[:] = sorted(
            schema, key=lambda c: (_SCHEMA_ORDER.get(c.tag, 9), c.get("name") or c.get("namespace") or "")
        )
    types[:] = schemas


def _artefacts(wsdl_bytes: bytes) -> tuple[bytes, dict[SoapVersion, bytes]]:
    wsdl = etree.fromstring(wsdl_bytes)
    sort_schemas(wsdl)
    inline = wsdl.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    schema = copy.deepcopy(inline)
    schema.addprevious(etree.Comment(" generated from connector/soap/models.py by python -m connector.soap.contract "))
    schema_doc = etree.ElementTree(schema)
    etree.cleanup_namespaces(schema_doc, top_nsmap={"xs": XS, "tns": TNS}, keep_ns_prefixes=["tns", "xs"])
    wsdl.append(wsdl.find(f"{{{WSDL}}}service"))  # the service last, after what it refers to (as most tools write it)
    pretty = {"pretty_print": True, "xml_declaration": True, "encoding": "UTF-8"}
    documents = {}
    for version in SoapVersion:
        document = copy.deepcopy(wsdl)
        if version is SoapVersion.SOAP12:
            _as_soap12(document)
        other = SoapVersion.SOAP12 if version is SoapVersion.SOAP11 else SoapVersion.SOAP11
        docs = etree.Element(f"{{{WSDL}}}documentation")
        docs.text = _DOCUMENTATION.format(
            label=version.label, path=PATHS[version], other=other.label, other_path=PATHS[other]
        )
        document.insert(0, docs)
        # Only the namespaces the document uses (spyne declares a dozen): a generator that sees the
        # SOAP 1.2 namespace declared may take it for the binding (gSOAP's wsdl2h does).
        etree.cleanup_namespaces(document, keep_ns_prefixes=["tns", "xs"])
        documents[version] = etree.tostring(document, **pretty)
    return etree.tostring(schema_doc, **pretty), documents


def _as_soap12(wsdl: etree._Element) -> None:
    """The SOAP 1.1 binding and port turned into SOAP 1.2's: the WSDL extension namespace, the
    names (``ConnectorPortSoap12``, as when both ports shared one document) and the address."""
    binding = wsdl.find(f"{{{WSDL}}}binding")
    binding.set("name", SOAP12_PORT)
    port = wsdl.find(f"{{{WSDL}}}service/{{{WSDL}}}port")
    port.set("name", SOAP12_PORT)
    port.set("binding", f"tns:{SOAP12_PORT}")
    for element in (*binding.iter(f"{{{SOAP}}}*"), *port.iter(f"{{{SOAP}}}*")):
        element.tag = f"{{{SOAP12}}}{etree.QName(element).localname}"
    port.find(f"{{{SOAP12}}}address").set("location", DEFAULT_BASE_URL + PATHS[SoapVersion.SOAP12])


def generate() -> tuple[bytes, dict[SoapVersion, bytes]]:
    """``schemas/connector.xsd`` and each endpoint's WSDL as the models define them now."""
    application = build_application(ParseLimits(), validate=False)
    WsgiApplication(application)  # serving sets the SOAP-over-HTTP transport (else spyne writes "noconn://")
    return _artefacts(served_wsdl(application, DEFAULT_BASE_URL + PATHS[SoapVersion.SOAP11]))


def write() -> None:
    xsd_bytes, wsdls = generate()
    XSD_PATH.write_bytes(xsd_bytes)
    for version, document in wsdls.items():
        WSDL_PATHS[version].write_bytes(document)


if __name__ == "__main__":
    write()
    written = ", ".join(str(path.relative_to(ROOT)) for path in (XSD_PATH, *WSDL_PATHS.values()))
    print(f"wrote {written}", file=sys.stderr)
