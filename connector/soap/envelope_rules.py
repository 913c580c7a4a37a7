"""What a SOAP 1.1 envelope must be before spyne reads it, beyond well-formed XML.

Each rule turns an input that spyne would mishandle (an internal error, or a value silently
cleaned) into a documented client fault: the envelope's encoding (UTF-8 or UTF-16 only),
processing instructions (SOAP 1.1 §3 forbids them), comments among the Body's content,
``mustUnderstand`` values (xs:boolean, so surrounding spaces are allowed and anything else is
wrong), and strict base64 for binary fields.
"""

from __future__ import annotations

import re

from lxml import etree

from connector.edxml import Base64Error, check_declared_encoding, strict_b64decode
from connector.errors import ConnectorError, ErrorCode
from connector.soap import field_paths as paths

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"
# SOAP 1.2 qualifies the attribute with its own envelope namespace (and writes "true").
MUST_UNDERSTAND_12 = "{http://www.w3.org/2003/05/soap-envelope}mustUnderstand"

_UTF16_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00?\x00", b"\x00<\x00?")
_UTF32_STARTS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"<\x00\x00\x00", b"\x00\x00\x00<")
_EBCDIC_START = b"\x4c\x6f\xa7\x94"  # "<?xm" (XML 1.0 appendix F)
_DECLARED = re.compile(rb'^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*["\']([^"\']*)["\']')
_CHARSET = re.compile(r"charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)
_ALLOWED = frozenset({"utf-8", "utf-16", "utf-16le", "utf-16be"})
_PROCESSING_INSTRUCTIONS = etree.XPath("count(//processing-instruction())")


def check_encoding(data: bytes, content_type: str | None) -> None:
    """UTF-8 or UTF-16, from the byte order mark, the XML declaration and the HTTP charset."""
    charset = _CHARSET.search(content_type or "")
    for source, name in (_declared_encoding(data), ("the Content-Type charset", charset and charset.group(1))):
        if name is not None and name.lower() not in _ALLOWED:
            raise ConnectorError(
                ErrorCode.UNSUPPORTED_ENCODING,
                f"the envelope is {name} according to {source}; send UTF-8 or UTF-16",
                paths.ENVELOPE,
            )
    # A byte order mark and a declaration that disagree: readers would decode different text.
    check_declared_encoding(data, "the envelope")


def _declared_encoding(data: bytes) -> tuple[str, str | None]:
    if data.startswith(_UTF32_STARTS):
        return "its first bytes", "UTF-32"
    if data.startswith(_EBCDIC_START):
        return "its first bytes", "EBCDIC"
    if data.startswith(_UTF16_STARTS):
        return "its first bytes", None  # lxml reads the declaration itself; UTF-16 is allowed
    match = _DECLARED.match(data[:512])
    return "the XML declaration", match.group(1).decode("ascii", "replace") if match else None


def check_structure(envelope: etree._Element, body: etree._Element) -> None:
    if _PROCESSING_INSTRUCTIONS(envelope):
        raise ConnectorError(
            ErrorCode.SCHEMA_INVALID,
            "a SOAP message must not contain processing instructions (SOAP 1.1 §3)",
            paths.ENVELOPE,
        )
    if any(True for _ in body.iter(etree.Comment)):
        raise ConnectorError(ErrorCode.SCHEMA_INVALID, "comments are not accepted inside the Body", paths.BODY)


def must_understand(header: etree._Element) -> bool:
    """The header's ``mustUnderstand`` as xs:boolean (SOAP 1.1 writes "1", SOAP 1.2 "true"; spaces
    are legal)."""
    value = header.get(MUST_UNDERSTAND, header.get(MUST_UNDERSTAND_12))
    if value is None:
        return False
    value = value.strip()
    if value not in ("0", "1", "true", "false"):
        raise ConnectorError(
            ErrorCode.SCHEMA_INVALID, f'mustUnderstand={value!r} is not a boolean (use "1" or "0")', paths.HEADER
        )
    return value in ("1", "true")


def strict_base64(element: etree._Element) -> bytes:
    """A base64Binary field, refused (not cleaned) when it is not base64."""
    try:
        return strict_b64decode(element.text or "")
    except Base64Error as exc:
        name = etree.QName(element).localname
        raise ConnectorError(
            ErrorCode.SCHEMA_INVALID, f"{name} is not base64: {exc}", paths.element_path(element)
        ) from None
