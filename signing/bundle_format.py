"""The evidence bundle's layout and its two small signed documents (docs/evidence.md).

The connector writes bundles (``connector.evidence.bundle``); ``signing.bundle`` verifies them
offline. Both take names and formats from here, so the format is defined once.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from lxml import etree

from .profile import enveloped_at_root


class BundleLayout:
    """Member names of an evidence bundle: a zip laid out like ASiC-E (``mimetype`` first,
    a signed manifest under ``META-INF/``) but not ASiC-E (its manifest is the connector's own
    signed document, not ``ASiCManifest`` + XAdES), so it names its own media type."""

    MIMETYPE = "mimetype"
    """The first member, stored uncompressed: ``MEDIA_TYPE``."""
    MEDIA_TYPE = "application/vnd.lienthong.connector.evidence+zip"
    MANIFEST = "META-INF/manifest.xml"
    """Every other member with its SHA-256 and size, signed by the connector."""
    README = "README.txt"
    """What each member is and how to check it by hand, in Vietnamese and English."""
    TIMELINE = "timeline.json"
    HEAD = "evidence/head.xml"
    """The signed chain head the records link up to."""
    HEAD_TIMESTAMP = "evidence/head.tsr"
    """RFC 3161 TimeStampResp (DER) over the bytes of ``evidence/head.xml``, when a TSA is configured."""
    CHAIN = "evidence/chain.txt"
    """``seq content_sha256 prev_sha256 record_sha256`` per line, from the first record to the head."""
    RECORDS = "evidence/records/"
    """The dossier's records, each file exactly its hashed content: ``<seq, 12 digits>.json``."""
    PACKAGES = "packages/"
    """Packages as received: ``<sha256>.xml``."""
    RECEIPTS = "receipts/"
    """Signed receipts: ``<sha256>.xml``."""
    CERTS = "certs/"
    CRLS = "crls/"
    ZIP_DATE = (1980, 1, 1, 0, 0, 0)
    """Every member's modification time: a bundle's bytes depend on its content only."""

    @classmethod
    def record(cls, seq: int) -> str:
        return f"{cls.RECORDS}{seq:012d}.json"

    @classmethod
    def order(cls, names: list[str]) -> list[str]:
        """The one order members are written in (and checked in): ``mimetype``, the manifest, the
        README, then the rest by name."""
        first = [n for n in (cls.MIMETYPE, cls.MANIFEST, cls.README) if n in names]
        return first + sorted(n for n in names if n not in first)


EVIDENCE_NS = "urn:vn:lienthong:connector:evidence:1"
HEAD_PROFILE = enveloped_at_root(f"{{{EVIDENCE_NS}}}EvidenceHead", name="evidence chain head")
MANIFEST_PROFILE = enveloped_at_root(f"{{{EVIDENCE_NS}}}BundleManifest", name="evidence bundle manifest")


@dataclass(frozen=True)
class Head:
    """What a signed head says: the chain's last record at ``signed_at``; heads are numbered
    1, 2, 3... and each names the SHA-256 of the previous signed head's bytes (``GENESIS`` for
    the first), so a head removed from the middle or the end of the series shows. Heads signed
    before numbering (``number`` None) are legacy."""

    seq: int
    record_sha256: str
    signed_at: dt.datetime
    number: int | None = None
    prev_head_sha256: str | None = None

    def to_xml(self) -> bytes:
        root = etree.Element(f"{{{EVIDENCE_NS}}}EvidenceHead", nsmap={"e": EVIDENCE_NS})
        # Seq and RecordSha256 first and adjacent: the by-hand procedure greps them together.
        for name, value in (("Seq", str(self.seq)), ("RecordSha256", self.record_sha256)):
            etree.SubElement(root, f"{{{EVIDENCE_NS}}}{name}").text = value
        etree.SubElement(root, f"{{{EVIDENCE_NS}}}SignedAt").text = self.signed_at.isoformat()
        if self.number is not None:
            etree.SubElement(root, f"{{{EVIDENCE_NS}}}Number").text = str(self.number)
            etree.SubElement(root, f"{{{EVIDENCE_NS}}}PrevHeadSha256").text = self.prev_head_sha256
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    @classmethod
    def from_signed(cls, root: etree._Element) -> Head:
        """From the verified tree (``VerifiedPackage.signed_root``)."""
        text = {etree.QName(e).localname: (e.text or "") for e in root}
        number = int(text["Number"]) if "Number" in text else None
        return cls(
            int(text["Seq"]),
            text["RecordSha256"],
            dt.datetime.fromisoformat(text["SignedAt"]),
            number,
            text.get("PrevHeadSha256") if number is not None else None,
        )


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    sha256: str
    size: int


def write_zip(members: list[tuple[str, bytes]]) -> bytes:
    """The canonical zip of a bundle: members in this order, stored (not compressed), dated
    ``ZIP_DATE``, Unix attributes 0644, no extra fields or comments. The verifier rebuilds it
    from the members it read and compares, so no byte of the container can change unnoticed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, BundleLayout.ZIP_DATE)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def manifest_xml(subject: str, created: dt.datetime, entries: list[ManifestEntry]) -> bytes:
    root = etree.Element(f"{{{EVIDENCE_NS}}}BundleManifest", nsmap={"e": EVIDENCE_NS})
    root.set("subject", subject)
    root.set("created", created.isoformat())
    for entry in entries:
        etree.SubElement(root, f"{{{EVIDENCE_NS}}}File", name=entry.name, sha256=entry.sha256, size=str(entry.size))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def manifest_entries(root: etree._Element) -> tuple[str, dt.datetime, list[ManifestEntry]]:
    """Subject, creation time and files of a verified manifest tree."""
    entries = [
        ManifestEntry(e.get("name", ""), e.get("sha256", ""), int(e.get("size", "-1")))
        for e in root.iterchildren(f"{{{EVIDENCE_NS}}}File")
    ]
    return root.get("subject", ""), dt.datetime.fromisoformat(root.get("created", "")), entries
