"""The connector's receipts: a small XML document signed by the connector's own certificate.

A caller (or an auditor, later) proves what the connector accepted, when, and where it routed
it, with ``python -m signing verify`` or xmlsec1, like any other signed document.

Each receipt also names the evidence chain's head as the connector saw it just before accepting
(``chain_seq``, ``chain_sha256``): every partner keeps a witness of the chain outside the box, which
``python -m connector evidence verify --receipts DIR`` checks the chain against. Receipts from
before this field carry 0 and "" there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from lxml import etree

from signing import RECEIPT_NS, RECEIPT_PROFILE, SigningIdentity, SigningOptions, sign_xml

# The receipt's shape is defined by signing/ (RECEIPT_PROFILE), so that an auditor's
# ``python -m signing verify RECEIPT.xml`` recognises it without the connector installed.
__all__ = ["RECEIPT_NS", "RECEIPT_PROFILE", "Receipt", "sign_receipt"]


@dataclass(frozen=True)
class Receipt:
    message_id: str
    operation: str
    exchange_id: str
    accepted_at: datetime
    state: str
    document_id: str
    package_digest: str
    agency_id: str
    queue: str
    target_account: str
    chain_seq: int = 0
    chain_sha256: str = ""

    def to_xml(self) -> bytes:
        root = etree.Element(f"{{{RECEIPT_NS}}}Receipt", nsmap={"r": RECEIPT_NS})
        for f in fields(self):
            value = getattr(self, f.name)
            element = etree.SubElement(root, f"{{{RECEIPT_NS}}}{_camel(f.name)}")
            element.text = value.isoformat() if isinstance(value, datetime) else str(value)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    @classmethod
    def from_xml(cls, data: bytes) -> Receipt:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        values: dict[str, object] = {}
        for f in fields(cls):
            text = root.findtext(f"{{{RECEIPT_NS}}}{_camel(f.name)}") or ""
            if f.name == "accepted_at":
                values[f.name] = datetime.fromisoformat(text)
            elif f.name == "chain_seq":
                values[f.name] = int(text or 0)
            else:
                values[f.name] = text
        return cls(**values)  # type: ignore[arg-type]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def sign_receipt(receipt: Receipt, identity: SigningIdentity) -> bytes:
    return sign_xml(receipt.to_xml(), identity, SigningOptions(check_sender=False), RECEIPT_PROFILE)
