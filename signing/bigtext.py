"""Big base64 texts (attachments) kept out of the verifier's tree, and put back into the
canonical bytes it digests.

A 20 MB attachment is one text node: parsed, libxml2 holds a copy of it; canonicalised, lxml
writes another into its output buffer and a third into the bytes it returns. The verifier
only reads the structure around such texts (where the Signature is, SignedInfo, the
certificates), so ``parse_hollow`` parses the document with each big text replaced by a marker
and keeps the text as a slice of the input (no copy), and ``canonical`` puts the texts back
into the canonical bytes where their markers are.

Exact, because a text is taken out only when C14N writes it unchanged and the parser reads it
unchanged: base64 characters, spaces, tabs and line feeds, between a '>' and a '<' (no
character reference, no '&', '>' or carriage return, nothing outside ASCII), in a document
that is UTF-8 or ASCII (where such a byte is its character). The marker keeps
the text's line feeds, so line numbers in messages stay the same. ``parse_hollow`` checks that
every marker came back as the whole text (or tail) of an element; anything else - a run inside
a comment, an attribute or CDATA, a document the hollow parse refuses - is parsed whole
instead, so the verifier sees and says exactly what it would have.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from lxml import etree
from signxml.exceptions import InvalidInput

from .xmlparse import parse_document

BIG_TEXT = 256 * 1024
"""Texts at least this long are kept out of the tree; shorter ones cost nothing worth saving."""
_CHECK_BYTES = 1024 * 1024
# What C14N writes as it is in text, and the parser reads as it is (no \r: line ends are
# normalised; no '&', '<', '>': escaped).
_VERBATIM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\n"
_RUN_START = re.compile(rb">[A-Za-z0-9+/= \t\n]{4096}")
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")  # UTF-16/32: bytes are not characters
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_ASCII_BASED = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})  # a base64 byte is its character

Texts = dict[bytes, memoryview]
"""Marker (as it appears in the canonical bytes) -> the text it stands for."""


def parse_hollow(xml_bytes: bytes) -> tuple[etree._Element, Texts]:
    """The document parsed with its big verbatim texts replaced by markers, and those texts.
    Raises what ``parse_document`` raises for the document itself."""
    hollow = _hollow(xml_bytes)
    if hollow is None:
        return parse_document(xml_bytes), {}
    skeleton, texts = hollow
    try:
        root = parse_document(skeleton)
    except ValueError:  # the document's own error, said about the document itself
        return parse_document(xml_bytes), {}
    if not _markers_in_place(root, texts):
        return parse_document(xml_bytes), {}
    return root, texts


def _hollow(xml_bytes: bytes) -> tuple[bytes, Texts] | None:
    declared = _DECLARED.match(xml_bytes[:512])
    if xml_bytes.startswith(_WIDE_STARTS) or (declared and declared.group(1).lower() not in _ASCII_BASED):
        return None
    view = memoryview(xml_bytes)
    token = secrets.token_hex(16)
    parts: list[memoryview | bytes] = []
    texts: Texts = {}
    copied = position = 0  # input copied up to here; searched up to here
    while (match := _RUN_START.search(xml_bytes, position)) is not None:
        start = match.start() + 1
        end = xml_bytes.find(b"<", start)
        position = start
        if end < 0:
            break
        if end - start < BIG_TEXT or not _verbatim(xml_bytes, start, end):
            continue
        marker = f"{token}x{len(texts)}x".encode() + b"\n" * xml_bytes.count(b"\n", start, end)
        parts += [view[copied:start], marker]
        texts[marker] = view[start:end]
        copied = position = end
    if not texts:
        return None
    parts.append(view[copied:])
    return b"".join(parts), texts


def _verbatim(data: bytes, start: int, end: int) -> bool:
    """``data[start:end]`` holds only ``_VERBATIM`` bytes (checked a megabyte at a time)."""
    return all(
        not data[at : min(at + _CHECK_BYTES, end)].translate(None, _VERBATIM) for at in range(start, end, _CHECK_BYTES)
    )


def _markers_in_place(root: etree._Element, texts: Texts) -> bool:
    """Every marker is the whole text or tail of exactly one element."""
    token = next(iter(texts))[:32].decode()
    found = [
        value.encode()
        for element in root.iter(etree.Element)
        for value in (element.text, element.tail)
        if value is not None and value.startswith(token)
    ]
    return sorted(found) == sorted(texts)


def take_out(root: etree._Element) -> Texts:
    """Big verbatim texts still in the tree (a document ``parse_hollow`` parsed whole), each
    replaced by a marker; libxml2's copy is freed before the text is encoded. The tree keeps
    the markers: it is the verifier's own parse, read no further for the reference."""
    token = secrets.token_hex(16)
    texts: Texts = {}
    for element in root.iter(etree.Element):
        for side in ("text", "tail"):
            value = getattr(element, side)
            if value is None or len(value) < BIG_TEXT:
                continue
            marker = f"{token}x{len(texts)}x"
            setattr(element, side, marker)
            data = value.encode("utf-8")
            if data.translate(None, _VERBATIM):
                setattr(element, side, value)
                continue
            del value
            texts[marker.encode()] = memoryview(data)
    return texts


Parts = tuple[bytes | memoryview, ...]
"""Canonical bytes in pieces: joined only if someone asks for them whole."""


def canonical(canonicalize: Callable[[], bytes], texts: Texts) -> Parts:
    """``canonicalize()``'s bytes with each marker replaced by its text, in pieces."""
    skeleton = canonicalize()
    if not texts:
        return (skeleton,)
    located = []
    for marker, text in texts.items():
        at = skeleton.find(marker)
        if at < 0 or skeleton.find(marker, at + 1) >= 0:
            raise InvalidInput("a text taken out of the document has no single place in its canonical form")
        located.append((at, marker, text))
    parts: list[bytes | memoryview] = []
    position = 0
    for at, marker, text in sorted(located, key=lambda item: item[0]):
        parts += [skeleton[position:at], text]
        position = at + len(marker)
    parts.append(skeleton[position:])
    return tuple(parts)


def parse_parts(parts: Parts, parser: etree.XMLParser) -> etree._Element:
    """The document ``parts`` make, parsed a megabyte at a time (never joined)."""
    for part in parts:
        for at in range(0, len(part), _CHECK_BYTES):
            parser.feed(bytes(part[at : at + _CHECK_BYTES]))
    return parser.close()
