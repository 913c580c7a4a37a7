"""Hardened XML parsing shared by the signer and the verifier."""

from __future__ import annotations

from lxml import etree

from .errors import SigningError

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
DS_SIGNATURE = f"{{{DSIG_NS}}}Signature"


class UnsafeXMLError(SigningError, ValueError):
    """The input is not well-formed XML or uses features we refuse (DOCTYPE, entities)."""


def hardened_parser() -> etree.XMLParser:
    """A fresh parser per call: lxml parsers must not be shared between threads.

    ``huge_tree`` is on because 20 MB packages carry base64 text nodes above libxml2's
    10 MB limit; it is safe only because every entry point caps the input size first.
    Blank text is kept: signed XML must never be re-indented or stripped.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_blank_text=False,
        remove_comments=False,
    )


def parse_document(xml_bytes: bytes) -> etree._Element:
    """Parse untrusted bytes and return the root element, refusing any DOCTYPE."""
    try:
        root = etree.fromstring(xml_bytes, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXMLError(f"not well-formed XML: {exc}{_stray_prefix_hint(xml_bytes)}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXMLError("DOCTYPE declarations are not allowed")
    if any(True for _ in root.iter(etree.Entity)):
        raise UnsafeXMLError("entity references are not allowed")
    return root


def _stray_prefix_hint(xml_bytes: bytes) -> str:
    # Real senders have emitted junk before the declaration (edoc_new.edxml: "1212<?xml").
    position = xml_bytes.find(b"<?xml")
    if position > 0 and xml_bytes[:position].strip(b" \t\r\n\xef\xbb\xbf"):
        return f" ({position} stray bytes {xml_bytes[: min(position, 16)]!r} before the XML declaration)"
    return ""


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def serialize(root: etree._Element) -> bytes:
    """Serialise without any re-formatting (the bytes are what was signed)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
