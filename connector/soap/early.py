"""A large UTF-16 envelope's credentials, read from its first bytes (issue 21, item 9).

A UTF-16 envelope cannot be read in chunks (``streaming``): the whole body is decoded to UTF-8
and parsed before spyne's protocol reaches the ``wsse:Security`` header - two 88 MiB ones from
strangers added ~457 MiB of RSS. The header comes before the Body, so the first
``PREFIX_BYTES`` are enough to authenticate the caller before anything else is decoded; the
serving layer does that and refuses a stranger without decoding the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from connector.auth.wsse import SECURITY

PREFIX_BYTES = 64 * 1024
_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class EarlyHeaders:
    """What the first bytes say: the Security headers (possibly none), or ``known=False`` when
    the Header did not end (nor the Body begin) within them."""

    known: bool
    security: tuple[etree._Element, ...] = ()


def is_wide(first_bytes: bytes) -> bool:
    return first_bytes.startswith(_BOMS)


def security_headers(prefix: bytes, soap_env: str) -> EarlyHeaders:
    """The ``wsse:Security`` elements of the envelope's Header, from a prefix of a UTF-16 body
    (with its byte order mark). Anything unusual - no BOM, a DOCTYPE, malformed XML, not a SOAP
    envelope of ``soap_env`` - is ``known=False``: the full path judges it."""
    if not is_wide(prefix):
        return EarlyHeaders(False)
    codec = "utf-16-le" if prefix.startswith(b"\xff\xfe") else "utf-16-be"
    units = prefix[2 : 2 + (len(prefix) - 2) // 2 * 2]
    text = units.decode(codec, errors="ignore")  # a split surrogate pair at the end is dropped
    if "<!DOCTYPE" in text:  # refused by the full path (envelope_rules)
        return EarlyHeaders(False)
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    header, body = f"{{{soap_env}}}Header", f"{{{soap_env}}}Body"
    depth = 0
    try:
        parser.feed(_without_declaration(text).encode("utf-8"))
        for event, element in parser.read_events():
            depth += 1 if event == "start" else -1
            if event == "start" and depth == 1 and element.tag != f"{{{soap_env}}}Envelope":
                return EarlyHeaders(False)
            if event == "start" and depth == 2 and element.tag == body:
                return EarlyHeaders(True)  # no Header before the Body: no Security header
            if event == "end" and depth == 1 and element.tag == header:
                return EarlyHeaders(True, tuple(child for child in element if child.tag == SECURITY))
    except etree.XMLSyntaxError:
        return EarlyHeaders(False)
    return EarlyHeaders(False)


def _without_declaration(text: str) -> str:
    """The XML declaration names UTF-16; the text is handed to the parser as UTF-8."""
    if text.startswith("<?xml"):
        end = text.find("?>")
        return text[end + 2 :] if end >= 0 else ""
    return text
