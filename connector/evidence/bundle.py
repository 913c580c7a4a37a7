"""Evidence bundles: everything an auditor needs about one dossier or message, verifiable offline
with ``python -m signing verify-bundle`` or by hand with xmlsec1 and openssl (docs/evidence.md).

The bundle holds the packages as received, the signed receipts, the timeline, the dossier's
evidence records with the chain's links up to a signed (and maybe time-stamped) head, the
certificates and CRLs, a README.txt, and a manifest of all of it signed by the connector.

The chain part is bounded: from the dossier's first record to the first signed head after its
last record (the first time-stamped one, if any is; a new head is signed only when none covers
it yet), so a bundle for an old dossier does not carry everything written since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from connector.clock import utcnow
from connector.errors import SimpleError
from connector.evidence.notary import HeadNotary
from connector.evidence.readme import ReadmeFacts, readme
from connector.store import EvidenceKind, EvidenceRecord, SignedHead, Store, StoredExchange
from signing import (
    MANIFEST_PROFILE,
    BundleLayout,
    ManifestEntry,
    SigningIdentity,
    SigningOptions,
    fingerprint_sha256,
    manifest_xml,
    sha256_hex,
    sign_xml,
    subject_text,
    write_zip,
)

L = BundleLayout
TIMELINE_FACTS = (
    "kind",
    "dossier_code",
    "onestop_number",
    "document_id",
    "procedure_code",
    "source_organ",
    "agency_organ",
)
"""The exchange's facts a bundle's timeline.json shows; the verifier checks them against the
exchange's first event record when it keeps them."""


class EvidenceNotFoundError(SimpleError, LookupError):
    """No exchange for that dossier code or message id."""


@dataclass(frozen=True)
class BundleSources:
    """What a bundle is made from besides the store: the signer, the head's notary, the PKI files."""

    identity: SigningIdentity
    notary: HeadNotary
    trust: tuple[Path, ...]
    crls: tuple[Path, ...] = ()


def exchanges_for(store: Store, key: str) -> list[StoredExchange]:
    """A message id (any message of an exchange) or a dossier code / one-stop number."""
    message = store.message(key)
    exchange = store.exchange(message.exchange_id if message else key)
    return [exchange] if exchange else store.exchanges_for_dossier(key)


def export_bundle(store: Store, sources: BundleSources, key: str) -> bytes:
    """The bundle (zip bytes) of the exchanges ``key`` names; signs a fresh head if the chain moved."""
    exchanges = exchanges_for(store, key)
    if not exchanges:
        raise EvidenceNotFoundError(f"no exchange with message id or dossier {key!r}")
    ids = [x.exchange_id for x in exchanges]
    records = store.evidence.records(ids)
    head = (store.evidence.covering_head(records[-1].seq) if records else None) or sources.notary.current()
    records = [r for r in records if r.seq <= head.seq]
    files: dict[str, bytes] = {L.TIMELINE: _timeline(exchanges, records)}
    for record in records:
        files[L.record(record.seq)] = record.content.encode("utf-8")
        if record.kind is EvidenceKind.PACKAGE:
            digest = record.data["package_sha256"]
            files[f"{L.PACKAGES}{digest}.xml"] = store.package_bytes(digest) or b""
        elif record.kind is EvidenceKind.RECEIPT:
            message = store.message(record.data["message_id"])
            receipt = message.receipt if message else b""
            files[f"{L.RECEIPTS}{sha256_hex(receipt)}.xml"] = receipt
    links = store.evidence.links(records[0].seq, head.seq) if records else []
    files[L.CHAIN] = "".join(f"{link.line()}\n" for link in links).encode("ascii")
    files |= _head_files(head) | _pki_files(sources)
    files[L.README] = _readme(key, head, records, sources.identity)
    return _zip(files, _manifest(key, files, sources.identity))


def _readme(subject: str, head: SignedHead, records: list[EvidenceRecord], identity: SigningIdentity) -> bytes:
    facts = ReadmeFacts(
        subject=subject,
        signer_subject=subject_text(identity.certificate),
        signer_sha256=fingerprint_sha256(identity.certificate),
        signer_organ_id=identity.organ_id,
        head_number=head.number,
        head_seq=head.seq,
        head_signed_at=head.signed_at,
        first_seq=records[0].seq if records else None,
        time_stamped=head.timestamp_response is not None,
    )
    return readme(facts)


def _timeline(exchanges: list[StoredExchange], records: list[EvidenceRecord]) -> bytes:
    """The exchanges as the records tell them: each one's facts (from the record of its creation;
    from the exchange row only for exchanges created before records kept them) and its events."""
    plain = []
    for x in exchanges:
        mine = [r.data for r in records if r.kind is EvidenceKind.EVENT and r.exchange_id == x.exchange_id]
        events = [data["event"] for data in mine]
        recorded = next((data["exchange"] for data in mine if "exchange" in data), None)
        row = {"kind": x.kind.value} | {name: getattr(x, name) for name in TIMELINE_FACTS if name != "kind"}
        facts = {name: (recorded or row)[name] for name in TIMELINE_FACTS}
        plain.append(
            {"exchange_id": x.exchange_id}
            | facts
            | {"state": events[-1]["state"] if events else None, "events": events}
        )
    return json.dumps({"exchanges": plain}, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _head_files(head: SignedHead) -> dict[str, bytes]:
    files = {L.HEAD: head.signed_xml}
    if head.timestamp_response:
        files[L.HEAD_TIMESTAMP] = head.timestamp_response
    return files


def _pki_files(sources: BundleSources) -> dict[str, bytes]:
    identity = sources.identity
    chain = b"".join(c.public_bytes(Encoding.PEM) for c in (identity.certificate, *identity.chain))
    files = {f"{L.CERTS}connector.pem": chain}
    files |= {f"{L.CERTS}trust-{i}.pem": path.read_bytes() for i, path in enumerate(sources.trust, 1)}
    files |= {f"{L.CRLS}{i}.crl": path.read_bytes() for i, path in enumerate(sources.crls, 1)}
    return files


def _manifest(subject: str, files: dict[str, bytes], identity: SigningIdentity) -> bytes:
    entries = [ManifestEntry(name, sha256_hex(data), len(data)) for name, data in sorted(files.items())]
    document = manifest_xml(subject, utcnow(), entries)
    return sign_xml(document, identity, SigningOptions(check_sender=False), MANIFEST_PROFILE)


def _zip(files: dict[str, bytes], manifest: bytes) -> bytes:
    everything = {L.MIMETYPE: L.MEDIA_TYPE.encode("ascii"), L.MANIFEST: manifest} | files
    return write_zip([(name, everything[name]) for name in L.order(list(everything))])
