"""The published SOAP contract: the Spyne application, and the checked-in artefacts derived
from it (``schemas/connector.xsd``, ``wsdl/connector.wsdl``).

``python -m connector.soap.contract`` rewrites both after a model change; a test checks that
the WSDL served at ``/soap?wsdl`` matches the checked-in one in operations, messages and types.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from lxml import etree

from connector.edxml import NAMESPACE as EDXML_NAMESPACE
from connector.edxml import ParseLimits
from connector.soap.models import TNS
from connector.soap.protocol import Authenticate, HardenedSoap11
from connector.soap.service import ConnectorService
from connector.soap.spyne_compat import Application, Soap11, WsgiApplication

ROOT = Path(__file__).resolve().parents[2]
XSD_PATH = ROOT / "schemas" / "connector.xsd"
WSDL_PATH = ROOT / "wsdl" / "connector.wsdl"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


def body_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_PATH), parser))


def build_application(
    limits: ParseLimits, validate: bool = True, authenticate: Authenticate | None = None
) -> Application:
    schema = body_schema() if validate else None
    return Application(
        [ConnectorService],
        tns=TNS,
        name="Connector",
        in_protocol=HardenedSoap11(schema, limits, authenticate),
        out_protocol=Soap11(),
    )


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


def _artefacts(wsdl_bytes: bytes) -> tuple[bytes, bytes]:
    wsdl = etree.fromstring(wsdl_bytes)
    sort_schemas(wsdl)
    inline = wsdl.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    schema = copy.deepcopy(inline)
    schema.addprevious(etree.Comment(" generated from connector/soap/models.py by python -m connector.soap.contract "))
    schema_doc = etree.ElementTree(schema)
    etree.cleanup_namespaces(schema_doc, top_nsmap={"xs": XS, "tns": TNS}, keep_ns_prefixes=["tns", "xs"])

    types = inline.getparent()
    types.remove(inline)
    wrapper = etree.SubElement(types, f"{{{XS}}}schema", targetNamespace=f"{TNS}:wsdl")
    etree.SubElement(wrapper, f"{{{XS}}}import", namespace=TNS, schemaLocation="../schemas/connector.xsd")
    # The base64 packages are edXML (QCVN 102:2016); their schema is published beside ours.
    etree.SubElement(wrapper, f"{{{XS}}}import", namespace=EDXML_NAMESPACE, schemaLocation="../schemas/edxml.xsd")
    address = wsdl.find(f".//{{{SOAP}}}address")
    address.set("location", "http://127.0.0.1:8080/soap")
    docs = etree.Element(f"{{{WSDL}}}documentation")
    docs.text = (
        "One-stop <-> document-management connector (edXML, QCVN 102:2016). Operations, faults and "
        "examples: docs/contract.md. The address is the embedded default; servers publish their own at /soap?wsdl."
    )
    wsdl.insert(0, docs)
    pretty = {"pretty_print": True, "xml_declaration": True, "encoding": "UTF-8"}
    return etree.tostring(schema_doc, **pretty), etree.tostring(wsdl, **pretty)


def write() -> None:
    application = build_application(ParseLimits(), validate=False)
    WsgiApplication(application)  # serving sets the SOAP-over-HTTP transport (else spyne writes "noconn://")
    wsdl = served_wsdl(application, "http://127.0.0.1:8080/soap")
    xsd_bytes, wsdl_bytes = _artefacts(wsdl)
    XSD_PATH.write_bytes(xsd_bytes)
    WSDL_PATH.write_bytes(wsdl_bytes)


if __name__ == "__main__":
    write()
    print(f"wrote {XSD_PATH.relative_to(ROOT)} and {WSDL_PATH.relative_to(ROOT)}", file=sys.stderr)
