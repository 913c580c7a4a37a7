"""Parser family: envelopes that are not well-formed, carry DTDs or entities, nest too deep, use an
encoding other than UTF-8/UTF-16 or carry processing instructions and comments where spyne
would fail. Each gets its documented fault; no row changes anywhere."""

from __future__ import annotations

import pytest

from connector.errors import ErrorCode
from testkit.faults import fault_of, refused_envelope
from testkit.rawsoap import SOAP_ENV, envelope, list_pending, post

ENV = f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1">'
LIST = list_pending()
DEEP = "<c:x>" * 40 + "</c:x>" * 40

CASES = {
    # ---- not XML at all, or broken XML ----
    "empty": (b"", ErrorCode.MALFORMED_XML),
    "plain text": (b"hello, connector", ErrorCode.MALFORMED_XML),
    "truncated": (envelope(LIST)[:-30], ErrorCode.MALFORMED_XML),
    "junk before the declaration": ("1212" + envelope(LIST), ErrorCode.MALFORMED_XML),
    "undeclared prefix": (envelope("<x:listPending/>"), ErrorCode.MALFORMED_XML),
    "invalid UTF-8 bytes": (envelope(LIST).encode().replace(b"eoffice", b"e\xff\xfeoffice"), ErrorCode.MALFORMED_XML),
    "NUL character reference": (envelope(list_pending("a&#0;b")), ErrorCode.MALFORMED_XML),
    "mismatched tags": (envelope("<c:listPending></c:fetchPending>"), ErrorCode.MALFORMED_XML),
    "two roots": (envelope(LIST) + "<again/>", ErrorCode.MALFORMED_XML),
    # ---- DTDs and entities ----
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        + envelope(list_pending("&lol2;"), declaration=""),
        ErrorCode.FORBIDDEN_XML,
    ),
    "external entity (XXE)": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + envelope(list_pending("&xxe;"), declaration=""),
        ErrorCode.FORBIDDEN_XML,
    ),
    "external DTD": (
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">' + envelope(LIST, declaration=""),
        ErrorCode.FORBIDDEN_XML,
    ),
    "parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]>'
        + envelope(LIST, declaration=""),
        ErrorCode.FORBIDDEN_XML,
    ),
    "undefined entity": (envelope(list_pending("&nothing;")), ErrorCode.FORBIDDEN_XML),
    "nesting deeper than the limit": (envelope(f"<c:listPending>{DEEP}</c:listPending>"), ErrorCode.FORBIDDEN_XML),
    "nesting past libxml2's own limit": (envelope("<c:x>" * 5000 + "</c:x>" * 5000), ErrorCode.FORBIDDEN_XML),
    # ---- encodings other than UTF-8 and UTF-16 ----
    "ISO-8859-1 declared": (
        envelope(list_pending("hồ sơ"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>').encode("utf-8"),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "windows-1258 (Vietnamese) declared": (
        envelope(LIST, declaration='<?xml version="1.0" encoding="windows-1258"?>'),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "US-ASCII declared": (
        envelope(LIST, declaration="<?xml version='1.0' encoding='US-ASCII'?>"),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "UTF-7 declared": (
        envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-7"?>'),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "UTF-32 with a byte order mark": (
        envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-32"?>').encode("utf-32"),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "UTF-32 without a byte order mark": (
        envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-32"?>').encode("utf-32-le"),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    "EBCDIC": (
        envelope(LIST, declaration='<?xml version="1.0" encoding="cp500"?>').encode("cp500"),
        ErrorCode.UNSUPPORTED_ENCODING,
    ),
    # ---- processing instructions (SOAP 1.1 §3) and comments in the Body ----
    "PI as the first child of Body": (envelope(f"<?evil x?>{LIST}"), ErrorCode.SCHEMA_INVALID),
    "PI before the Envelope": (
        '<?xml version="1.0"?><?xml-stylesheet href="x"?>' + ENV + f"<soap:Body>{LIST}</soap:Body></soap:Envelope>",
        ErrorCode.SCHEMA_INVALID,
    ),
    "PI in the Header": (envelope(LIST, header="<?evil x?>"), ErrorCode.SCHEMA_INVALID),
    "PI inside a field": (envelope(list_pending("eoffice<?x?>-ubnd")), ErrorCode.SCHEMA_INVALID),
    "comment as the first child of Body": (envelope(f"<!-- hello -->{LIST}"), ErrorCode.SCHEMA_INVALID),
    "comment after the request": (envelope(f"{LIST}<!-- bye -->"), ErrorCode.SCHEMA_INVALID),
    "comment splitting a value": (envelope(list_pending("eoffice<!-- x -->-ubnd")), ErrorCode.SCHEMA_INVALID),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_envelope_gets_its_fault_and_changes_nothing(live, name):  # noqa: F811
    body, code = CASES[name]
    refused_envelope(live, body, code)


@pytest.mark.parametrize("charset", ["iso-8859-1", "windows-1252", '"latin1"'])
def test_a_content_type_charset_other_than_utf_is_refused(live, charset):  # noqa: F811
    fault = refused_envelope(
        live, envelope(LIST), ErrorCode.UNSUPPORTED_ENCODING, content_type=f"text/xml; charset={charset}"
    )
    assert "Content-Type" in fault.message


@pytest.mark.parametrize(
    "data",
    [
        envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
        envelope(LIST, declaration='<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16-le"),
        b"\xef\xbb\xbf" + envelope(LIST).encode(),
        envelope(LIST, header="<!-- a comment outside the Body is harmless -->").encode(),
    ],
    ids=["UTF-16 with BOM", "UTF-16LE declared, without BOM", "UTF-8 with BOM", "comment in the Header"],
)
def test_what_is_allowed_still_works(live, data):  # noqa: F811
    response = post(live.url, data, content_type="text/xml")
    assert response.status_code == 200, response.text[:300]
    assert b"listPendingResponse" in response.content


def test_the_fault_names_the_declared_encoding(live):  # noqa: F811
    body = envelope(LIST, declaration='<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "ISO-8859-1" in fault_of(post(live.url, body)).message
