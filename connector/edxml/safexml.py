"""Hardened XML parsing for untrusted bytes: size cap, no DTD, no entities, no network, depth cap.

Every refusal is an ``EdxmlError`` that says exactly what is wrong and where.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

from connector.edxml.issues import EdxmlError
from connector.edxml.received import check_declared_encoding
from connector.errors import ErrorCode

MiB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on untrusted input. The server raises ``max_bytes`` to its request cap."""

    max_bytes: int = 50 * MiB
    max_depth: int = 32  # real edXML is < 10 deep
    max_attachments: int = 200
    max_attachment_bytes: int = 50 * MiB  # one decoded file
    max_total_attachment_bytes: int = 200 * MiB
    max_compression_ratio: int = 200  # zip bombs: decoded size / compressed size
    # Explaining a schema failure (xmlschema, ~50x slower than lxml's yes/no, and quadratic in
    # unexpected siblings) stops at whichever comes first: this many errors, or this many seconds;
    # a document with more elements than real packages have (< 300) is explained from lxml's log
    # instead. The refusal itself never depends on these.
    max_explained_errors: int = 20
    explain_seconds: float = 1.0
    max_explained_elements: int = 2000


_LEADING = re.compile(rb"^(\xef\xbb\xbf)?\s*")
_UTF16_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00?\x00", b"\x00<\x00?")


def parse_xml(data: bytes, limits: ParseLimits = ParseLimits()) -> etree._ElementTree:
    if len(data) > limits.max_bytes:
        raise EdxmlError.single(
            ErrorCode.TOO_LARGE,
            f"input is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes",
        )
    check_declared_encoding(data, "the document")
    _check_prolog(data)
    # huge_tree lifts libxml2's 10 MB text-node limit (base64 attachments); safe only because
    # the size was capped above. Entities are never resolved and no DTD is ever loaded.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    tree = root.getroottree()
    check_tree(tree, limits)
    return tree


def check_tree(tree: etree._ElementTree, limits: ParseLimits) -> None:
    """What a parsed document must not have: a DOCTYPE, or nesting deeper than the limit. Also
    for trees parsed elsewhere (the signature verifier's), so they need not be parsed again."""
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise EdxmlError.single(
            ErrorCode.FORBIDDEN_XML, "a DOCTYPE (DTD or entity declarations) is not allowed", line=1
        )
    if _too_deep(limits.max_depth)(tree.getroot()):
        raise EdxmlError.single(ErrorCode.FORBIDDEN_XML, f"elements nested deeper than {limits.max_depth} levels")


@functools.cache
def _too_deep(max_depth: int) -> etree.XPath:
    """Any element at depth max_depth + 1 means the document is too deep (compiled once)."""
    return etree.XPath("boolean(/*" + "/*" * max_depth + ")")


def _check_prolog(data: bytes) -> None:
    """Name the classic defects precisely instead of libxml2's 'Start tag expected'."""
    if data.startswith(_UTF16_STARTS):
        return  # libxml2 reads UTF-16 itself; the checks below are for ASCII-compatible bytes
    start = _LEADING.match(data).end()  # type: ignore[union-attr]
    if not data[start:]:
        raise EdxmlError.single(ErrorCode.MALFORMED_XML, "the input is empty")
    if data[start : start + 1] == b"<":
        return
    declaration = data.find(b"<?xml", start, start + 4096)
    if declaration > 0:
        stray = data[start:declaration]
        raise EdxmlError.single(
            ErrorCode.MALFORMED_XML,
            f"{len(stray)} stray bytes {stray[:16]!r} before the XML declaration "
            "(the declaration must be the first thing in the document)",
            line=1,
        )
    raise EdxmlError.single(ErrorCode.MALFORMED_XML, f"not XML: starts with {data[start : start + 16]!r}", line=1)


def _syntax_error(exc: etree.XMLSyntaxError) -> EdxmlError:
    message = str(exc.msg or exc).split(", line ")[0]
    if "depth" in message.lower():
        return EdxmlError.single(ErrorCode.FORBIDDEN_XML, f"nesting too deep: {message}")
    if "entity" in message.lower() or "DOCTYPE" in message:
        return EdxmlError.single(ErrorCode.FORBIDDEN_XML, message, line=exc.lineno)
    if message.startswith("Namespace prefix"):
        message = f"undeclared namespace prefix: {message}"
    line, column = exc.position if exc.position else (exc.lineno, None)
    where = f" (column {column})" if column else ""
    return EdxmlError.single(ErrorCode.MALFORMED_XML, f"{message}{where}", line=line)
