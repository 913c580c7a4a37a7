"""Attribute floods (issue 21, finding 9): one element with a million attributes, or more
attributes in all than any real document has, in the SOAP envelope or in a correctly signed
edXML package, sent over HTTP to a running connector. Each is refused with
``Client.ForbiddenXml`` naming the element (``ParseLimits.max_attributes_per_element``, 64;
``ParseLimits.max_attributes``, 100,000), quickly, and changes no row. Before, the package's
schema explanation alone took minutes."""

from __future__ import annotations

import time

import pytest

from connector.edxml import build
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import refused_envelope
from testkit.rawsoap import b64, envelope, list_pending, send_document

MILLION = " ".join(f'a{i}="x"' for i in range(1_000_000))
SPREAD = "".join(f'<c:x{i % 7} a="1" b="2" c="3"/>' for i in range(40_000))  # 120,000 attributes, 3 each


def timed_refusal(live, body: str | bytes, code: ErrorCode, seconds: float = 15.0):  # noqa: F811
    start = time.monotonic()
    fault = refused_envelope(live, body, code)
    assert time.monotonic() - start < seconds
    return fault


ENVELOPES = {
    "a million attributes on the request element": (
        envelope(list_pending().replace("<c:listPending>", f"<c:listPending {MILLION}>")),
        "listPending",
    ),
    "a million attributes on a header element": (
        envelope(list_pending(), header=f"<c:trace {MILLION}/>"),
        "trace",
    ),
    "a million attributes on the Envelope": (
        envelope(list_pending()).replace(
            'xmlns:c="urn:vn:lienthong:connector:1"', f'xmlns:c="urn:vn:lienthong:connector:1" {MILLION}'
        ),
        "Envelope",
    ),
    "65 attributes on one element": (
        envelope(list_pending(), header="<c:trace " + " ".join(f'a{i}="x"' for i in range(65)) + "/>"),
        "trace",
    ),
}


@pytest.mark.parametrize("case", ENVELOPES)
def test_an_envelope_with_too_many_attributes_on_an_element_is_refused(live, case):  # noqa: F811
    body, element = ENVELOPES[case]
    fault = timed_refusal(live, body, ErrorCode.FORBIDDEN_XML)
    assert f"element {element} has" in fault.message and "per element" in fault.message, fault.message


def test_an_envelope_with_too_many_attributes_in_all_is_refused(live):  # noqa: F811
    fault = timed_refusal(live, envelope(list_pending(), header=f"<c:junk>{SPREAD}</c:junk>"), ErrorCode.FORBIDDEN_XML)
    assert "120,00" in fault.message and "in all" in fault.message, fault.message


def signed_with(live, old: bytes, new: bytes) -> bytes:  # noqa: F811
    data = build(guide.send_package())
    assert old in data, old
    return sign_package(data.replace(old, new, 1), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))


def test_a_million_attributes_added_to_a_signed_package_are_refused_before_the_signature_is_checked(live):  # noqa: F811
    """Anyone can do this to a captured package: the digest no longer matches, but checking it
    means canonicalising the document first, and libxml2's C14N sorts one element's attributes
    in quadratic time (minutes for a million). They are counted before the verifier runs."""
    package = signed_with(live, b"", b"").replace(b"<edXML:Subject>", f"<edXML:Subject {MILLION}>".encode(), 1)
    fault = timed_refusal(live, envelope(send_document(b64(package))), ErrorCode.FORBIDDEN_XML)
    assert "MessageHeader/Subject" in fault.message and "1,000,000 attributes" in fault.message, fault.message


def test_a_signed_package_with_too_many_attributes_on_one_element_is_refused(live):  # noqa: F811
    many = " ".join(f'a{i}="x"' for i in range(2_000))
    package = signed_with(live, b"<edXML:Subject>", f"<edXML:Subject {many}>".encode())
    fault = timed_refusal(live, envelope(send_document(b64(package))), ErrorCode.FORBIDDEN_XML)
    assert "MessageHeader/Subject" in fault.message and "2,000 attributes" in fault.message, fault.message


def test_a_signed_package_with_too_many_attributes_in_all_is_refused(live):  # noqa: F811
    spread = "".join('<edXML:Junk a="1" b="2" c="3"/>' for _ in range(40_000)).encode()
    package = signed_with(live, b"</edXML:MessageHeader>", spread + b"</edXML:MessageHeader>")
    fault = timed_refusal(live, envelope(send_document(b64(package))), ErrorCode.FORBIDDEN_XML)
    assert "in all" in fault.message, fault.message
