"""A fault's ``field`` (issue 23): one notation everywhere - real element names joined by ``/``
from the operation's request element (``sendDocument/dossier/applicant``) - for a wrong value in
every field of every request, whether the envelope qualifies its elements with a prefix (zeep)
or with a default namespace (hand-written envelopes, most generated clients: libxml2 then names
the element ``*/*[5]/*[3]``); and for the service's own faults (never ``dossier.procedureCode``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import xmlschema
from lxml import etree

from connector.errors import ErrorCode
from connector.soap.contract import XSD_PATH, body_schema
from simulators import guide
from testkit.faults import TNS, detail_code
from testkit.live import LiveConnector, start_connector
from testkit.net import new_id
from tests.soap.test_faults import SOAP_ENV, post

OPERATIONS = (
    "sendDocument",
    "publishResult",
    "updateStatus",
    "getStatus",
    "listPending",
    "fetchPending",
    "acknowledge",
)
SCHEMA = xmlschema.XMLSchema10(str(XSD_PATH))
VALID = {"base64Binary": "eA==", "date": "2022-11-26", "dateTime": "2022-11-26T15:09:15+07:00", "decimal": "1"}


def primitive(kind: xmlschema.validators.XsdType) -> str:
    return kind.primitive_type.local_name if hasattr(kind, "primitive_type") else kind.local_name


def valid_value(kind: xmlschema.validators.XsdType) -> str:
    if getattr(kind, "enumeration", None):
        return kind.enumeration[0]
    return VALID.get(primitive(kind), "x")


def request(operation: str) -> etree._Element:
    """The operation's request with every field, each with a value its type accepts."""

    def fill(parent: etree._Element | None, component: xmlschema.XsdElement) -> etree._Element:
        element = (
            etree.Element(f"{{{TNS}}}{component.local_name}")
            if parent is None
            else etree.SubElement(parent, f"{{{TNS}}}{component.local_name}")
        )
        if component.type.is_simple():
            element.text = valid_value(component.type)
        else:
            for child in component.type.content.iter_elements():
                fill(element, child)
        return element

    return fill(None, SCHEMA.elements[operation])


def wrong_values(kind: xmlschema.validators.XsdType) -> Iterator[str]:
    """Candidate values the field's type may refuse, most telling first; a child element is
    wrong for every simple type."""
    if getattr(kind, "enumeration", None):
        yield "BOGUS"
    if primitive(kind) in VALID:
        yield "not a value!"
    yield "x" * 300


def leaves(component: xmlschema.XsdElement, path: str) -> Iterator[tuple[str, xmlschema.XsdElement]]:
    """(path, element) of every simple-typed field under ``component``."""
    if component.type.is_simple():
        yield path, component
        return
    for child in component.type.content.iter_elements():
        yield from leaves(child, f"{path}/{child.local_name}")


def cases() -> Iterator[tuple[str, str, str | None]]:
    """(operation, field path, wrong text or None for a child element) for every leaf field."""
    for operation in OPERATIONS:
        schema = body_schema()
        assert schema.validate(request(operation)), (operation, schema.error_log)
        for path, component in leaves(SCHEMA.elements[operation], operation):
            refused = [text for text in wrong_values(component.type) if not _accepts(operation, path, text)]
            yield operation, path, refused[0] if refused else None


def _accepts(operation: str, path: str, text: str | None) -> bool:
    return body_schema().validate(_with(operation, path, text))


def _with(operation: str, path: str, text: str | None) -> etree._Element:
    document = request(operation)
    (leaf,) = document.xpath("/".join(["."] + [f"t:{step}" for step in path.split("/")[1:]]), namespaces={"t": TNS})
    if text is None:
        leaf.text = None
        etree.SubElement(leaf, f"{{{TNS}}}wrong")
    else:
        leaf.text = text
    return document


CASES = list(cases())


def envelope(body: etree._Element, prefixed: bool) -> bytes:
    xml = etree.tostring(body).decode()
    if not prefixed:  # the same elements, qualified by a default namespace instead of a prefix
        xml = xml.replace("ns0:", "").replace("xmlns:ns0=", "xmlns=")
    return f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{xml}</s:Body></s:Envelope>'.encode()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveConnector]:
    connector, server = start_connector(tmp_path_factory.mktemp("fields") / "data")
    yield connector
    server.stop()
    connector.runtime.close()


def test_every_leaf_field_of_every_request_is_a_case():
    assert len(CASES) == 31 and {operation for operation, _, _ in CASES} == set(OPERATIONS)
    assert ("sendDocument", "sendDocument/dossier/applicant", "x" * 300) in CASES


@pytest.mark.parametrize("prefixed", [True, False], ids=["prefixed", "default-namespace"])
@pytest.mark.parametrize("operation,path,text", CASES, ids=[path for _, path, _ in CASES])
def test_a_wrong_value_names_its_field_by_element_names(live, operation, path, text, prefixed):
    answer = post(live, envelope(_with(operation, path, text), prefixed))
    fault = etree.fromstring(answer.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert detail_code(fault.find("detail")) == ErrorCode.SCHEMA_INVALID.value, answer.text
    assert fault.findtext(f"detail/{{{TNS}}}ConnectorFault/{{{TNS}}}field") == path, answer.text
    assert fault.findtext("faultstring").startswith(f"{path}: "), answer.text


@pytest.mark.parametrize(
    "dossier,field",
    [
        ({"procedureCode": "9.999999.000.00.00.H31"}, "sendDocument/dossier/procedureCode"),
        ({"senderUsername": "nobody"}, "sendDocument/senderUsername"),
    ],
)
def test_the_services_faults_use_the_same_notation(live, dossier, field):
    import zeep

    values = {"dossierCode": guide.DOSSIER_CODE, "procedureCode": guide.PROCEDURE_CODE}
    username = dossier.pop("senderUsername", "cbtiepnhan")
    with pytest.raises(zeep.exceptions.Fault) as caught:
        live.client().service.sendDocument(
            messageId=new_id(),
            edxmlPackage=live.sign(guide.send_package()),
            kind="INCOMING",
            senderUsername=username,
            dossier=values | dossier,
        )
    assert caught.value.detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}field") == field


def test_a_package_field_is_named_from_edxml_package(live):
    import zeep

    with pytest.raises(zeep.exceptions.Fault) as caught:
        live.client().service.updateStatus(messageId=new_id(), edxmlPackage=b"<not-edxml/>")
    field = caught.value.detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}field")
    assert field.startswith("updateStatus/edxmlPackage"), field
    assert "." not in field and "*" not in field
