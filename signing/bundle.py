"""Verifying an evidence bundle offline (``python -m signing verify-bundle``; docs/evidence.md).

Nothing here needs the connector or its database: the auditor brings the trust anchors (the
connector's CA, the senders' CAs, the time-stamping authority's CA) and the bundle. Every check
is reported with the member it is about; the bundle is valid only when all of them pass.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from lxml import etree

from .bundle_format import (
    EVIDENCE_NS,
    HEAD_PROFILE,
    MANIFEST_PROFILE,
    BundleLayout,
    Head,
    manifest_entries,
    write_zip,
)
from .chain import ChainLink, first_break, sha256_hex
from .errors import SignatureVerificationError
from .pin import SignerPin
from .policy import VerificationPolicy
from .profile import EDXML_PROFILE, RECEIPT_PROFILE, DocumentProfile
from .timestamp import TimestampError, verify_timestamp
from .verify import VerifiedPackage, verify_xml
from .xmlparse import UnsafeXMLError, parse_document

L = BundleLayout


@dataclass(frozen=True)
class Check:
    """One thing verified, about one member of the bundle (``where``)."""

    where: str
    ok: bool
    detail: str


@dataclass
class BundleVerdict:
    checks: list[Check] = field(default_factory=list)
    subject: str | None = None
    head: Head | None = None
    timestamp: dt.datetime | None = None
    signer: str = ""
    """Who the connector's own documents had to be signed by (``SignerPin.describe``)."""

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, where: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(where, ok, detail))
        return ok

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "subject": self.subject,
            "head": {
                "seq": self.head.seq,
                "record_sha256": self.head.record_sha256,
                "signed_at": self.head.signed_at.isoformat(),
            }
            if self.head
            else None,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "head_number": self.head.number if self.head else None,
            "signer": self.signer,
            "checks": [{"where": c.where, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


class _Bundle:
    """The members of a bundle, read once; unreadable members are reported, not raised."""

    def __init__(self, data: bytes, verdict: BundleVerdict) -> None:
        self.files: dict[str, bytes] = {}
        self.verdict = verdict
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            verdict.add("bundle", False, f"not a readable zip: {exc}")
            return
        members = []
        for info in archive.infolist():
            try:
                members.append((info.filename, archive.read(info)))
            except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
                verdict.add(info.filename, False, f"cannot be read from the zip: {exc}")
        self.files = dict(members)
        if len(self.files) != len(members):
            verdict.add("bundle", False, "a member name appears twice")
        if members and members[0] != (L.MIMETYPE, L.MEDIA_TYPE.encode("ascii")):
            verdict.add(members[0][0], False, f"the first member must be {L.MIMETYPE} = {L.MEDIA_TYPE}")
        names = [name for name, _ in members]
        if names != L.order(names):
            verdict.add("bundle", False, "the members are not in the canonical order (docs/evidence.md)")
        elif len(members) == len(archive.infolist()) and write_zip(members) != data:
            verdict.add("bundle", False, "the zip's headers differ from the canonical layout (docs/evidence.md)")

    def under(self, prefix: str) -> dict[str, bytes]:
        return {n: d for n, d in self.files.items() if n.startswith(prefix)}


def verify_bundle(
    data: bytes, trust: list[x509.Certificate], signer: SignerPin, require_timestamp: bool = False
) -> BundleVerdict:
    """Check everything in a bundle against the auditor's trust anchors; the manifest, the head
    and the receipts must be signed by ``signer`` (the connector); see the module doc."""
    verdict = BundleVerdict(signer=signer.describe())
    bundle = _Bundle(data, verdict)
    if not bundle.files:
        return verdict
    certificates = _certificates(bundle, verdict)
    check = _Checks(bundle, verdict, trust, _crls(bundle, verdict), certificates, signer, require_timestamp)
    if check.manifest():
        records = check.chain(check.head())
        check.packages_and_receipts(records)
        check.timeline(records)
    return verdict


def _claimed_time(document: bytes, read: Callable[[etree._Element], str | None]) -> dt.datetime | None:
    """The time a signed document states about itself, to check its certificates at; None when it
    cannot be read (the signature check then fails on its own)."""
    try:
        text = read(parse_document(document))
        return dt.datetime.fromisoformat(text) if text else None
    except (UnsafeXMLError, ValueError):
        return None


@dataclass
class _Checks:
    bundle: _Bundle
    verdict: BundleVerdict
    trust: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    intermediates: list[x509.Certificate]
    signer: SignerPin
    require_timestamp: bool

    def policy(self, at: dt.datetime | None) -> VerificationPolicy:
        return VerificationPolicy(trust_anchors=tuple(self.trust), crls=tuple(self.crls), at=at)

    def signed(
        self, where: str, document: bytes, profile: DocumentProfile, at: dt.datetime | None, by_connector: bool
    ) -> VerifiedPackage | None:
        """Verify a signature; ``by_connector``: the signer must also be the pinned connector."""
        try:
            result = verify_xml(document, self.policy(at), profile)
        except SignatureVerificationError as exc:
            self.verdict.add(where, False, f"signature INVALID ({exc.reason.value}): {exc.message}")
            return None
        refusal = self.signer.refusal(result) if by_connector else None
        if refusal:
            self.verdict.add(where, False, f"signer REFUSED: {refusal}")
            return None
        self.verdict.add(where, True, f"signature valid, by {result.signer_subject}")
        return result

    def manifest(self) -> bool:
        verdict, files = self.verdict, self.bundle.files
        document = files.get(L.MANIFEST)
        if document is None:
            return verdict.add(L.MANIFEST, False, "missing")
        verified = self.signed(
            L.MANIFEST, document, MANIFEST_PROFILE, _claimed_time(document, lambda r: r.get("created")), True
        )
        if verified is None:
            return False
        subject, _, entries = manifest_entries(verified.signed_root)
        verdict.subject = subject
        listed = {e.name: e for e in entries}
        for name, data in sorted(files.items()):
            if name in (L.MIMETYPE, L.MANIFEST):
                continue
            entry = listed.pop(name, None)
            if entry is None:
                verdict.add(name, False, "not listed in the signed manifest")
            elif entry.sha256 != sha256_hex(data) or entry.size != len(data):
                verdict.add(
                    name, False, "its SHA-256 or size differs from the signed manifest (the member was changed)"
                )
        for name in listed:
            verdict.add(name, False, "listed in the signed manifest but missing from the bundle")
        return verdict.add(L.MANIFEST, not verdict.failures, f"{len(entries)} members listed with their SHA-256")

    def head(self) -> Head | None:
        verdict = self.verdict
        document = self.bundle.files.get(L.HEAD)
        if document is None:
            verdict.add(L.HEAD, False, "missing")
            return None
        signed_at = _claimed_time(document, lambda r: r.findtext(f"{{{EVIDENCE_NS}}}SignedAt"))
        verified = self.signed(L.HEAD, document, HEAD_PROFILE, signed_at, True)
        if verified is None:
            return None
        head = verdict.head = Head.from_signed(verified.signed_root)
        stamp = self.bundle.files.get(L.HEAD_TIMESTAMP)
        if stamp is None:
            if self.require_timestamp:
                verdict.add(L.HEAD_TIMESTAMP, False, "missing, and a time-stamp was required (--require-timestamp)")
            else:
                verdict.add(L.HEAD_TIMESTAMP, True, "no time-stamp (none configured when the head was signed)")
            return head
        try:
            verdict.timestamp = verify_timestamp(stamp, document, self.trust, self.intermediates)
        except TimestampError as exc:
            verdict.add(L.HEAD_TIMESTAMP, False, str(exc))
            return head
        verdict.add(L.HEAD_TIMESTAMP, True, f"RFC 3161 time-stamp over {L.HEAD}: {verdict.timestamp.isoformat()}")
        return head

    def chain(self, head: Head | None) -> dict[int, dict[str, Any]]:
        """The dossier's records (seq -> parsed content), once their links to the signed head hold."""
        try:
            links = [ChainLink.parse(line) for line in self.bundle.files.get(L.CHAIN, b"").decode("ascii").splitlines()]
        except (ValueError, UnicodeDecodeError) as exc:
            self.verdict.add(L.CHAIN, False, f"unreadable: {exc}")
            return {}
        contents: dict[int, bytes] = {}
        records: dict[int, dict[str, Any]] = {}
        for name, data in self.bundle.under(L.RECORDS).items():
            try:
                content = json.loads(data)
                seq = int(content["seq"])
            except (ValueError, KeyError, TypeError) as exc:
                self.verdict.add(name, False, f"not a record: {exc}")
                continue
            if name != L.record(seq):
                self.verdict.add(name, False, f"holds record {seq}")
            contents[seq], records[seq] = data, content
        in_chain = {link.seq for link in links}
        for seq in sorted(set(contents) - in_chain):
            self.verdict.add(L.record(seq), False, "this record is not on the chain's path to the signed head")
        broken = first_break((link, contents.get(link.seq)) for link in links)
        if broken:
            where = L.record(int(broken.split()[1].rstrip(":"))) if broken.startswith("record") else L.CHAIN
            self.verdict.add(where if where in self.bundle.files else L.CHAIN, False, broken)
            return {}
        if head is not None:
            end = links[-1] if links else None
            if end is None or (end.seq, end.record_sha256) != (head.seq, head.record_sha256):
                self.verdict.add(L.CHAIN, False, f"does not end at the signed head (record {head.seq})")
                return {}
        self.verdict.add(
            L.CHAIN, True, f"{len(records)} records link through {len(links)} chain entries to the signed head"
        )
        return records

    def packages_and_receipts(self, records: dict[int, dict[str, Any]]) -> None:
        expected: dict[str, tuple[DocumentProfile, dt.datetime]] = {}
        for content in records.values():
            at = dt.datetime.fromisoformat(content["at"])
            data = content["data"]
            if content["kind"] == "package":
                expected[f"{L.PACKAGES}{data['package_sha256']}.xml"] = (EDXML_PROFILE, at)
            elif content["kind"] == "receipt":
                expected[f"{L.RECEIPTS}{data['receipt_sha256']}.xml"] = (RECEIPT_PROFILE, at)
        present = self.bundle.under(L.PACKAGES) | self.bundle.under(L.RECEIPTS)
        for name in sorted(set(present) | set(expected)):
            if name not in expected:
                self.verdict.add(name, False, "no evidence record names this file")
                continue
            if name not in present:
                self.verdict.add(name, False, "named by an evidence record but missing")
                continue
            document = present[name]
            if name.rpartition("/")[2] != f"{sha256_hex(document)}.xml":
                self.verdict.add(name, False, "its SHA-256 differs from the one its evidence record states")
                continue
            profile, at = expected[name]
            self.signed(name, document, profile, at, by_connector=profile is RECEIPT_PROFILE)

    def timeline(self, records: dict[int, dict[str, Any]]) -> None:
        try:
            timeline = json.loads(self.bundle.files.get(L.TIMELINE, b""))
            exchanges = {x["exchange_id"]: x for x in timeline["exchanges"]}
        except (ValueError, KeyError, TypeError) as exc:
            self.verdict.add(L.TIMELINE, False, f"unreadable: {exc}")
            return
        recorded: dict[str, list[dict[str, Any]]] = {}
        facts: dict[str, dict[str, Any]] = {}  # what the record of each exchange's creation keeps
        for seq in sorted(records):
            content = records[seq]
            recorded.setdefault(content["exchange_id"], [])
            if content["kind"] == "event":
                recorded[content["exchange_id"]].append(content["data"]["event"])
                if isinstance(content["data"].get("exchange"), dict):
                    facts.setdefault(content["exchange_id"], content["data"]["exchange"])
        for exchange_id in sorted(set(exchanges) | set(recorded)):
            shown = exchanges.get(exchange_id)
            events = recorded.get(exchange_id)
            if shown is None or events is None:
                self.verdict.add(
                    L.TIMELINE,
                    False,
                    f"exchange {exchange_id}: in the {'records' if shown is None else 'timeline'} only",
                )
                return
            kept = facts.get(exchange_id, {})
            differs = [name for name, value in shown.items() if name in kept and kept[name] != value]
            if (
                differs
                or shown.get("events") != events
                or shown.get("state") != (events[-1]["state"] if events else None)
            ):
                self.verdict.add(
                    L.TIMELINE, False, f"exchange {exchange_id}: the timeline differs from its evidence records"
                )
                return
        self.verdict.add(L.TIMELINE, True, f"{len(exchanges)} exchanges, every event matching its evidence record")


def _crls(bundle: _Bundle, verdict: BundleVerdict) -> list[x509.CertificateRevocationList]:
    found = []
    for name, data in bundle.under(L.CRLS).items():
        try:
            found.append(x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
        except ValueError as exc:
            verdict.add(name, False, f"not a CRL: {exc}")
    return found


def _certificates(bundle: _Bundle, verdict: BundleVerdict) -> list[x509.Certificate]:
    found = []
    for name, data in bundle.under(L.CERTS).items():
        try:
            found.extend(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            verdict.add(name, False, f"not PEM certificates: {exc}")
    return found
