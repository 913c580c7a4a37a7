"""Where a signature lives in a kind of document, and where its sender is named.

A profile keeps the verifier generic: the edXML package and the connector's own
receipts differ only in their root element, the Signature's parent and the sender path.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def edxml(local: str) -> str:
    """Clark name of an edXML element."""
    return f"{{{EDXML_NS}}}{local}"


@dataclass(frozen=True)
class DocumentProfile:
    """Shape expected of a signed document of one kind.

    All names are Clark names (``{namespace}local``): elements are matched by namespace
    and local name, never by prefix.
    """

    name: str
    root: str
    """Expected root element."""
    signature_parent: tuple[str, ...] = ()
    """Path from the root to the element whose last child is ``ds:Signature``; () = the root."""
    sender_path: tuple[str, ...] | None = None
    """Path from the root to the element holding the sender's OrganId; None = no sender check."""
    placeholder_signature: str | None = None
    """A non-XML-DSig element some senders put where the signature goes; removed before signing."""
    unique_paths: tuple[tuple[str, ...], ...] = ()
    """Paths that must match at most one element: duplicates are a wrapping attempt."""

    def signature_parent_of(self, root: etree._Element) -> etree._Element | None:
        """The single element at ``signature_parent``, or None when absent."""
        matches = find_path(root, self.signature_parent)
        return matches[0] if len(matches) == 1 else None

    def sender_of(self, root: etree._Element) -> str | None:
        if self.sender_path is None:
            return None
        matches = find_path(root, self.sender_path)
        if len(matches) != 1 or matches[0].text is None:
            return None
        return matches[0].text.strip() or None


def find_path(root: etree._Element, path: tuple[str, ...]) -> list[etree._Element]:
    """All elements reached from ``root`` through child steps named by Clark names."""
    current = [root]
    for step in path:
        current = [child for element in current for child in element.iterchildren(step)]
    return current


_ENVELOPE = (edxml("edXMLEnvelope"),)
_HEADER = (*_ENVELOPE, edxml("edXMLHeader"))

EDXML_PROFILE = DocumentProfile(
    name="edXML package (QCVN 102:2016)",
    root=edxml("edXML"),
    signature_parent=_HEADER,
    sender_path=(*_HEADER, edxml("MessageHeader"), edxml("From"), edxml("OrganId")),
    placeholder_signature=edxml("Signature"),
    unique_paths=(
        _ENVELOPE,
        _HEADER,
        (*_HEADER, edxml("MessageHeader")),
        (*_HEADER, edxml("MessageHeader"), edxml("From")),
        (*_ENVELOPE, edxml("edXMLBody")),
        (edxml("AttachmentEncoded"),),
    ),
)
"""Signature as the last child of ``edXMLHeader``; sender at ``MessageHeader/From/OrganId``."""


def enveloped_at_root(root: str, sender_path: tuple[str, ...] | None = None, name: str = "") -> DocumentProfile:
    """Profile for small documents (e.g. the connector's receipts) signed as the root's last child."""
    return DocumentProfile(name=name or root, root=root, sender_path=sender_path)


RECEIPT_NS = "urn:vn:lienthong:connector:receipt:1"
RECEIPT_PROFILE = enveloped_at_root(f"{{{RECEIPT_NS}}}Receipt", name="connector receipt")
"""The connector's signed receipts: ``r:Receipt`` signed at its root by the connector's own
identity (no sender element: the signer is the connector)."""

PROFILES = (EDXML_PROFILE, RECEIPT_PROFILE)
"""The documents ``python -m signing verify`` recognises, by root element."""


def profile_for(root: etree._Element) -> DocumentProfile | None:
    return next((profile for profile in PROFILES if profile.root == root.tag), None)
