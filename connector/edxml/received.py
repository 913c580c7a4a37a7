"""What the received bytes of a package must be, beyond what its signature covers.

The connector reads only what was signed (the canonical bytes, ``docs/architecture.md``) but
relays the package **as received**, so whatever canonicalisation drops must not be able to
change what a receiver reads:

- **Encoding declarations that lie.** A byte order mark decides how a parser decodes; the XML
  declaration says something else (a UTF-16 BOM with ``encoding="UTF-8"``, a UTF-8 BOM with
  ``encoding="UTF-16"``). A receiver that believes the declaration reads other characters:
  ``Client.UnsupportedEncoding``. The SOAP envelope is checked the same way
  (``connector/soap/envelope_rules.py``).
- **Comments and processing instructions in the header.** Canonical XML without comments
  drops them, so ``<DocumentId>000.00.13.H31,<!-- -->2022/11/26,02/LT</DocumentId>`` is signed
  and read here as one value, while a receiver that takes the first text node reads
  ``000.00.13.H31,``. Nothing belongs there: anywhere inside ``edXMLHeader`` (MessageHeader,
  TraceHeaderList, the Signature) they are ``Client.PackageInvalid``, naming the element.

The header comes first in a package, so the received bytes are read only up to the end of
``edXMLEnvelope``: the attachments (nearly all of a large package) are never parsed again.
"""

from __future__ import annotations

import io
import re

from lxml import etree

from connector.edxml.issues import EdxmlError, Issue
from connector.edxml.paths import path_of, q
from connector.errors import ErrorCode

_DECLARATION = re.compile(r"""^\ufeff?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_UTF8 = frozenset({"utf-8", "utf8"})
_UTF16 = frozenset({"utf-16", "utf16"})
# first bytes -> (what they are, the codec to read the declaration with, declarations that agree)
_STARTS: tuple[tuple[bytes, str, str, frozenset[str]], ...] = (
    (b"\xff\xfe\x00\x00", "", "", frozenset()),  # UTF-32: refused elsewhere when not allowed
    (b"\x00\x00\xfe\xff", "", "", frozenset()),
    (b"\xef\xbb\xbf", "a UTF-8 byte order mark", "utf-8", _UTF8),
    (b"\xff\xfe", "a UTF-16 (little-endian) byte order mark", "utf-16-le", _UTF16 | {"utf-16le"}),
    (b"\xfe\xff", "a UTF-16 (big-endian) byte order mark", "utf-16-be", _UTF16 | {"utf-16be"}),
    (b"<\x00?\x00", "UTF-16 (little-endian) bytes", "utf-16-le", _UTF16 | {"utf-16le"}),
    (b"\x00<\x00?", "UTF-16 (big-endian) bytes", "utf-16-be", _UTF16 | {"utf-16be"}),
)
_WIDE = _UTF16 | {"utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be", "ucs-2", "ucs-4"}
_HEADER = q("edXMLHeader")
_ENVELOPE = q("edXMLEnvelope")


def check_declared_encoding(data: bytes, what: str = "the package") -> None:
    """Refuse bytes whose XML declaration names another encoding than their byte order mark
    (or, without one, than their first bytes show): ``Client.UnsupportedEncoding``."""
    for start, shown, codec, agreeing in _STARTS:
        if data.startswith(start):
            if not codec:
                return
            declared = _declared(data[:1024].decode(codec, "ignore"))
            if declared is not None and declared.lower() not in agreeing:
                raise EdxmlError.single(
                    ErrorCode.UNSUPPORTED_ENCODING,
                    f"{what} starts with {shown} but its XML declaration says encoding={declared!r}; "
                    "the two must agree",
                    line=1,
                )
            return
    declared = _declared(data[:1024].decode("latin-1"))  # ASCII-compatible bytes
    if declared is not None and declared.lower() in _WIDE:
        raise EdxmlError.single(
            ErrorCode.UNSUPPORTED_ENCODING,
            f"{what} is in single-byte-based (UTF-8 or ASCII) characters but its XML declaration says "
            f"encoding={declared!r}; the two must agree",
            line=1,
        )


def _declared(text: str) -> str | None:
    match = _DECLARATION.match(text)
    return match.group(1).strip() if match else None


def header_markup(header: etree._Element) -> Issue | None:
    """The first comment or processing instruction inside ``edXMLHeader``, as an issue naming
    the element it is in; None when there is none."""
    for node in header.iter(etree.Comment, etree.ProcessingInstruction):
        kind = "a comment" if isinstance(node, etree._Comment) else "a processing instruction"
        parent = node.getparent()
        where = path_of(parent) if parent is not None else path_of(header)
        return Issue(
            ErrorCode.PACKAGE_INVALID,
            f"{kind} inside {where.rsplit('/', 1)[-1]} is not allowed in the edXML header (the signature does "
            "not cover it, and a receiver could read a different value)",
            where,
            node.sourceline,
        )
    return None


def check_received(data: bytes) -> None:
    """The received package's bytes: an honest encoding declaration, and no comment or
    processing instruction in its header. Raises ``EdxmlError``; bytes that are not
    well-formed are left to the parser that reads them (it names the defect)."""
    check_declared_encoding(data)
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=False,
        remove_pis=False,
    )
    try:
        for event, element in events:
            if event == "start":
                if element.getparent() is None and element.tag != q("edXML"):
                    return  # not edXML: the validation says so
                continue
            if element.tag == _HEADER:
                issue = header_markup(element)
                if issue is not None:
                    raise EdxmlError([issue])
            elif element.tag == _ENVELOPE:
                return  # the header is behind: the rest (attachments) is not read again
    except etree.XMLSyntaxError:
        return
