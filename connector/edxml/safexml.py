"""Hardened XML parsing for untrusted bytes: size cap, no DTD, no entities, no network, depth cap,
attribute caps.

Every refusal is an ``EdxmlError`` that says exactly what is wrong and where.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

from connector.edxml.issues import EdxmlError
from connector.edxml.paths import path_of
from connector.edxml.received import check_declared_encoding
from connector.errors import ErrorCode, SimpleError

MiB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on untrusted input. The server raises ``max_bytes`` to its request cap."""

    max_bytes: int = 50 * MiB
    max_depth: int = 32  # real edXML is < 10 deep
    # One element with a million attributes costs seconds of CPU downstream (schema validation
    # and its explanation, canonicalisation sorts them). edXML and the SOAP contract use at most
    # a handful per element (xlink:href, Id, the signature's Algorithm/URI, namespace-free), the
    # guide's and vendors' samples fewer than 10 in all; namespace declarations are not counted.
    max_attributes_per_element: int = 64
    max_attributes: int = 100_000  # in the whole document
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
    """What a parsed document must not have: a DOCTYPE, nesting deeper than the limit, more
    attributes on an element or in all than the limits. Also for trees parsed elsewhere (the
    signature verifier's), so they need not be parsed again."""
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise EdxmlError.single(
            ErrorCode.FORBIDDEN_XML, "a DOCTYPE (DTD or entity declarations) is not allowed", line=1
        )
    if _too_deep(limits.max_depth)(tree.getroot()):
        raise EdxmlError.single(ErrorCode.FORBIDDEN_XML, f"elements nested deeper than {limits.max_depth} levels")
    _check_attributes(tree, limits)


def _check_attributes(tree: etree._ElementTree, limits: ParseLimits) -> None:
    """Two XPath walks inside libxml2 (about 50 ms each for a million attributes; microseconds
    for a real package), after the parse that the size cap already bounds."""
    crowded = _crowded(limits.max_attributes_per_element)(tree)
    if crowded:
        element = crowded[0]
        raise EdxmlError.single(
            ErrorCode.FORBIDDEN_XML,
            f"element {etree.QName(element).localname} has {len(element.attrib):,} attributes; "
            f"the limit is {limits.max_attributes_per_element} per element",
            path_of(element),
            element.sourceline,
        )
    total = int(_ATTRIBUTE_COUNT(tree))
    if total > limits.max_attributes:
        raise EdxmlError.single(
            ErrorCode.FORBIDDEN_XML,
            f"the document has {total:,} attributes; the limit is {limits.max_attributes:,} in all",
        )


_ATTRIBUTE_COUNT = etree.XPath("count(//@*)")


def check_attributes(data: bytes, limits: ParseLimits = ParseLimits()) -> None:
    """The attribute caps of ``check_tree``, on bytes no parser has built a tree of yet: for
    packages, before the signature verifier canonicalises them (libxml2's C14N sorts an
    element's attributes in quadratic time: a million of them take many minutes).

    Nearly free for real documents: each attribute needs a '=' byte, so bytes with no more of
    them than one element may have cannot break either cap (a signed package has ~20). Other
    bytes are read by a tree-less parser that counts attributes as elements start. Bytes
    that are not well-formed are left to the parser that reads them (it names the defect)."""
    if _at_most(data, b"=", limits.max_attributes_per_element):
        return
    counter = _AttributeCounter(limits)
    parser = etree.XMLParser(target=counter, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        etree.fromstring(data, parser)
    except _TooManyAttributesError as exc:
        raise EdxmlError.single(ErrorCode.FORBIDDEN_XML, str(exc), exc.path) from None
    except etree.XMLSyntaxError:
        return


def _at_most(data: bytes, byte: bytes, limit: int) -> bool:
    """Whether ``byte`` occurs at most ``limit`` times (memchr jumps: ~3 ms for 27 MB)."""
    position = -1
    for _ in range(limit + 1):
        position = data.find(byte, position + 1)
        if position < 0:
            return True
    return False


class _TooManyAttributesError(SimpleError):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class _AttributeCounter:
    """A parser target: counts attributes per element and in all, keeps the element path."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.total = 0
        self.path: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.path.append(tag.rpartition("}")[2])
        count = len(attrib)
        if count > self.limits.max_attributes_per_element:
            raise _TooManyAttributesError(
                f"element {self.path[-1]} has {count:,} attributes; "
                f"the limit is {self.limits.max_attributes_per_element} per element",
                "/" + "/".join(self.path),
            )
        self.total += count
        if self.total > self.limits.max_attributes:
            raise _TooManyAttributesError(
                f"the document has more than {self.limits.max_attributes:,} attributes in all"
            )

    def end(self, tag: str) -> None:
        self.path.pop()

    def close(self) -> None:
        return None


@functools.cache
def _crowded(max_attributes: int) -> etree.XPath:
    """The first element with more than ``max_attributes`` attributes (compiled once)."""
    return etree.XPath(f"(//*[count(@*) > {int(max_attributes)}])[1]")


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
