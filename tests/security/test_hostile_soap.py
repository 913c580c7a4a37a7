"""SOAP family: envelopes that are well-formed XML but not a request the connector can take –
wrong structure, headers it must understand, numbers no database column holds, base64 that is
not base64. Each gets its documented fault (never Server.Internal); no row changes."""

from __future__ import annotations

import pytest

from connector.errors import ErrorCode
from testkit.faults import refused_envelope
from testkit.net import new_id
from testkit.rawsoap import PULL_SYSTEM, envelope, list_pending, send_document

LIST = list_pending()


def fetch(item_id: str) -> str:
    return f"<c:fetchPending><c:systemId>{PULL_SYSTEM}</c:systemId><c:itemId>{item_id}</c:itemId></c:fetchPending>"


def acknowledge(item_id: str) -> str:
    return (
        f"<c:acknowledge><c:systemId>{PULL_SYSTEM}</c:systemId><c:itemId>{item_id}</c:itemId>"
        "<c:outcome>DONE</c:outcome></c:acknowledge>"
    )


def update_status(package_text: str) -> str:
    return (
        f"<c:updateStatus><c:messageId>{new_id()}</c:messageId>"
        f"<c:edxmlPackage>{package_text}</c:edxmlPackage></c:updateStatus>"
    )


def header(must_understand: str) -> str:
    return f'<x:Trace xmlns:x="urn:example:trace" soap:mustUnderstand="{must_understand}">1</x:Trace>'


CASES = {
    # ---- the envelope's structure ----
    "Envelope of neither SOAP version": (  # SOAP 1.1 and 1.2 are both accepted on either path
        '<e:Envelope xmlns:e="urn:example:not-soap"><e:Body/></e:Envelope>',
        ErrorCode.VERSION_MISMATCH,
    ),
    "no Envelope at all": ("<c:listPending xmlns:c='urn:vn:lienthong:connector:1'/>", ErrorCode.SCHEMA_INVALID),
    "two Bodies": (
        envelope(LIST).replace("</soap:Body>", f"</soap:Body><soap:Body>{LIST}</soap:Body>", 1),
        ErrorCode.SCHEMA_INVALID,
    ),
    "empty Body": (envelope(""), ErrorCode.SCHEMA_INVALID),
    "two requests in one Body": (envelope(LIST + LIST), ErrorCode.SCHEMA_INVALID),
    "text beside the request": (envelope(f"surprise{LIST}"), ErrorCode.SCHEMA_INVALID),
    "a Fault sent as a request": (
        envelope("<soap:Fault><faultcode>x</faultcode></soap:Fault>"),
        ErrorCode.SCHEMA_INVALID,
    ),
    "unknown operation": (envelope("<c:deleteEverything/>"), ErrorCode.SCHEMA_INVALID),
    "operation in a foreign namespace": (envelope("<listPending xmlns='urn:other'/>"), ErrorCode.SCHEMA_INVALID),
    "XInclude in the Body": (
        envelope('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'),
        ErrorCode.SCHEMA_INVALID,
    ),
    # ---- mustUnderstand (xs:boolean: surrounding spaces are legal) ----
    'mustUnderstand="1"': (envelope(LIST, header("1")), ErrorCode.MUST_UNDERSTAND),
    'mustUnderstand=" 1 "': (envelope(LIST, header(" 1 ")), ErrorCode.MUST_UNDERSTAND),
    "mustUnderstand with tab and newline": (envelope(LIST, header("\t1\n")), ErrorCode.MUST_UNDERSTAND),
    'mustUnderstand="true"': (envelope(LIST, header("true")), ErrorCode.MUST_UNDERSTAND),
    'mustUnderstand="yes"': (envelope(LIST, header("yes")), ErrorCode.SCHEMA_INVALID),
    'mustUnderstand=""': (envelope(LIST, header("")), ErrorCode.SCHEMA_INVALID),
    # ---- numbers no column holds ----
    "itemId 2^70": (envelope(fetch(str(2**70))), ErrorCode.UNKNOWN_ITEM),
    "itemId -2^70": (envelope(fetch(str(-(2**70)))), ErrorCode.UNKNOWN_ITEM),
    "itemId 2^31 (past a 32-bit column)": (envelope(fetch(str(2**31))), ErrorCode.UNKNOWN_ITEM),
    "itemId 2^63": (envelope(fetch(str(2**63))), ErrorCode.UNKNOWN_ITEM),
    "itemId 0": (envelope(fetch("0")), ErrorCode.UNKNOWN_ITEM),
    "itemId with 400 digits": (envelope(fetch("9" * 400)), ErrorCode.UNKNOWN_ITEM),
    "acknowledge itemId 2^70": (envelope(acknowledge(str(2**70))), ErrorCode.UNKNOWN_ITEM),
    "itemId not a number": (envelope(fetch("abc")), ErrorCode.SCHEMA_INVALID),
    "itemId in exponent notation": (envelope(fetch("1e3")), ErrorCode.SCHEMA_INVALID),
    # ---- base64 outside its alphabet: refused, not cleaned ----
    "package with '!'": (envelope(update_status("PGE+!!!!")), ErrorCode.SCHEMA_INVALID),
    "package with data after padding": (envelope(update_status("PGE+PC9hPg==PGE+")), ErrorCode.SCHEMA_INVALID),
    "package with a trailing '*'": (envelope(update_status("PGE+PC9hPg==*")), ErrorCode.SCHEMA_INVALID),
    "package in the URL-safe alphabet": (envelope(update_status("PGE-PC9h_g==")), ErrorCode.SCHEMA_INVALID),
    "package with a non-ASCII letter": (envelope(update_status("PGE+PC9hPgé=")), ErrorCode.SCHEMA_INVALID),
    "package with a bad length": (envelope(update_status("PGE+P")), ErrorCode.SCHEMA_INVALID),
    "package empty": (envelope(update_status("")), ErrorCode.SCHEMA_INVALID),
    "sendDocument package not base64": (
        envelope(send_document("<edXML/>".replace("<", "&lt;"))),
        ErrorCode.SCHEMA_INVALID,
    ),
    # ---- values the contract bounds ----
    "messageId of 101 characters": (
        envelope(
            f"<c:updateStatus><c:messageId>{'m' * 101}</c:messageId>"
            "<c:edxmlPackage>PGEvPg==</c:edxmlPackage></c:updateStatus>"
        ),
        ErrorCode.SCHEMA_INVALID,
    ),
    "messageId missing": (
        envelope("<c:updateStatus><c:edxmlPackage>PGEvPg==</c:edxmlPackage></c:updateStatus>"),
        ErrorCode.SCHEMA_INVALID,
    ),
    "messageId twice": (
        envelope(
            "<c:updateStatus><c:messageId>a</c:messageId><c:messageId>b</c:messageId><c:edxmlPackage>PGEvPg==</c:edxmlPackage></c:updateStatus>"
        ),
        ErrorCode.SCHEMA_INVALID,
    ),
    "systemId of 10,000 characters": (envelope(list_pending("s" * 10_000)), ErrorCode.SCHEMA_INVALID),
    "unknown document kind": (envelope(send_document("PGEvPg==", kind="SIDEWAYS")), ErrorCode.SCHEMA_INVALID),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_request_gets_its_fault_and_changes_nothing(live, name):  # noqa: F811
    body, code = CASES[name]
    refused_envelope(live, body, code)


def test_base64_faults_name_the_offending_character(live):  # noqa: F811
    fault = refused_envelope(live, envelope(update_status("PGE+PC9hPg==*")), ErrorCode.SCHEMA_INVALID)
    assert "edxmlPackage is not base64: character '*' at offset 12" in fault.message


def test_a_must_understand_header_is_named(live):  # noqa: F811
    fault = refused_envelope(live, envelope(LIST, header(" 1 ")), ErrorCode.MUST_UNDERSTAND)
    assert "{urn:example:trace}Trace" in fault.message
