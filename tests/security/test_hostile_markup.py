"""What the signature does not cover but a receiver reads (issue 21, findings 7 and 10):
encoding declarations that contradict the byte order mark - in the SOAP envelope and in the
edXML package - and comments or processing instructions inside the signed header, which
canonicalisation drops (so the connector read one value) while the package is relayed as
received (so a naive receiver reads another). Each is sent over HTTP to a running connector,
the package correctly signed by a trusted sender, gets its documented fault and changes no row."""

from __future__ import annotations

import dataclasses

import pytest

from connector.edxml import build
from connector.errors import ErrorCode
from signing import SigningOptions, sign_package
from simulators import guide
from testkit.faults import refused_envelope
from testkit.net import new_id
from testkit.rawsoap import b64, envelope, list_pending, post, send_document

LIST = list_pending()


# ---- the envelope -----------------------------------------------------------------------
ENVELOPE_LIES = {
    "UTF-16 BOM, encoding='UTF-8'": envelope(LIST, declaration="<?xml version='1.0' encoding='UTF-8'?>").encode(
        "utf-16"
    ),
    "UTF-16BE BOM, encoding='UTF-8'": b"\xfe\xff"
    + envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-8"?>').encode("utf-16-be"),
    "UTF-8 BOM, encoding='UTF-16'": b"\xef\xbb\xbf"
    + envelope(LIST, declaration="<?xml version='1.0' encoding='UTF-16'?>").encode(),
    "UTF-8 without BOM, encoding='UTF-16'": envelope(
        LIST, declaration='<?xml version="1.0" encoding="UTF-16"?>'
    ).encode(),
}


@pytest.mark.parametrize("case", ENVELOPE_LIES)
def test_an_envelope_whose_declaration_contradicts_its_bytes_is_refused(live, case):  # noqa: F811
    fault = refused_envelope(live, ENVELOPE_LIES[case], ErrorCode.UNSUPPORTED_ENCODING, content_type="text/xml")
    assert "envelope" in fault.message and "encoding=" in fault.message, fault.message


@pytest.mark.parametrize(
    "data",
    [
        envelope(LIST, declaration="<?xml version='1.0' encoding='UTF-16'?>").encode("utf-16"),
        b"\xef\xbb\xbf" + envelope(LIST, declaration="<?xml version='1.0' encoding='utf-8'?>").encode(),
        b"\xef\xbb\xbf" + envelope(LIST, declaration="<?xml version='1.0'?>").encode(),
    ],
    ids=["UTF-16 BOM, UTF-16 declared", "UTF-8 BOM, UTF-8 declared", "UTF-8 BOM, nothing declared"],
)
def test_an_honest_declaration_still_works(live, data):  # noqa: F811
    response = post(live.url, data, content_type="text/xml")
    assert response.status_code == 200, response.text[:300]


# ---- the package --------------------------------------------------------------------------
def signed(live, data: bytes) -> bytes:  # noqa: F811
    """Signed by the sender's own key. The signer's sender check reads the first text node,
    as a naive receiver would, so it is off: the signature is what counts."""
    identity = live.runtime.dev_keys.identity(guide.ONESTOP.organ_id)
    return sign_package(data, identity, SigningOptions(check_sender=False))


def reencoded(data: bytes, codec: str, declared: str, bom: bytes = b"") -> bytes:
    """The signed package in another encoding (C14N, hence the signature, does not change),
    declaring ``declared``."""
    text = data.decode("utf-8").replace("encoding='UTF-8'", f"encoding='{declared}'", 1)
    return bom + text.encode(codec)


def test_a_package_with_a_utf16_bom_declaring_utf8_is_refused(live):  # noqa: F811
    package = reencoded(signed(live, build(guide.send_package())), "utf-16", "UTF-8")
    fault = refused_envelope(live, envelope(send_document(b64(package))), ErrorCode.UNSUPPORTED_ENCODING)
    assert "package" in fault.message and "'UTF-8'" in fault.message, fault.message


def test_a_package_with_a_utf8_bom_declaring_utf16_is_refused(live):  # noqa: F811
    package = reencoded(signed(live, build(guide.send_package())), "utf-8", "UTF-16", bom=b"\xef\xbb\xbf")
    fault = refused_envelope(live, envelope(send_document(b64(package))), ErrorCode.UNSUPPORTED_ENCODING)
    assert "package" in fault.message and "'UTF-16'" in fault.message, fault.message


# ---- comments and processing instructions in the signed header ----------------------------
DOCUMENT_ID = "<edXML:DocumentId>083e1a9f-63d9-57aa-b1f2-8706235085f0</edXML:DocumentId>"
SENDER = "<edXML:OrganId>000.00.13.H31</edXML:OrganId>"
TRACE = "<edXML:TraceHeader>\n          <edXML:OrganId>000.00.13.H31</edXML:OrganId>"

HEADER_MARKUP = {
    # A receiver reading the first text node sees "083e1a9f-" (a truncated, other DocumentId).
    "comment inside DocumentId": (
        DOCUMENT_ID,
        "<edXML:DocumentId>083e1a9f-<!-- -->63d9-57aa-b1f2-8706235085f0</edXML:DocumentId>",
        "/MessageHeader/DocumentId",
    ),
    "processing instruction inside DocumentId": (
        DOCUMENT_ID,
        "<edXML:DocumentId>083e1a9f-<?x y?>63d9-57aa-b1f2-8706235085f0</edXML:DocumentId>",
        "/MessageHeader/DocumentId",
    ),
    "comment inside the sender's OrganId": (
        SENDER,
        "<edXML:OrganId>000.00.13<!-- .H31 -->.H31</edXML:OrganId>",
        "/MessageHeader/From/OrganId",
    ),
    "comment between MessageHeader's children": (
        DOCUMENT_ID,
        "<!-- <edXML:DocumentId>forged</edXML:DocumentId> -->" + DOCUMENT_ID,
        "/edXMLHeader/MessageHeader",
    ),
    "comment inside a TraceHeader's OrganId": (
        TRACE,
        "<edXML:TraceHeader>\n          <edXML:OrganId>000.00<!-- x -->.13.H31</edXML:OrganId>",
        "/TraceHeaderList/TraceHeader/OrganId",
    ),
}


@pytest.mark.parametrize("case", HEADER_MARKUP)
def test_markup_inside_the_signed_header_is_refused_naming_the_element(live, case):  # noqa: F811
    old, new, where = HEADER_MARKUP[case]
    text = build(guide.send_package()).decode()
    assert old in text
    package = signed(live, text.replace(old, new, 1).encode())
    fault = refused_envelope(live, envelope(send_document(b64(package))), ErrorCode.PACKAGE_INVALID)
    assert where in fault.message, fault.message


def test_a_comment_outside_the_header_is_still_accepted(live):  # noqa: F811
    """Comments elsewhere change no value a receiver acts on (the body's manifest is checked
    against the attachments by the connector itself)."""
    text = build(dataclasses.replace(guide.send_package(), document_id=new_id())).decode()
    text = text.replace("<edXML:edXMLBody>", "<!-- the body --><edXML:edXMLBody>", 1)
    response = post(live.url, envelope(send_document(b64(signed(live, text.encode())))))
    assert response.status_code == 200, response.text[:500]
