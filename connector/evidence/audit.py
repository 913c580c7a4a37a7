"""``evidence verify``: the stored chain (``Store.evidence.verify``), then what only the connector's
certificate and the outside world can tell (docs/evidence.md):

- every signed head's XML signature, by the connector's own certificate (pinned, as an auditor's
  ``verify-bundle --connector-cert`` does), saying what its row says; its time-stamp when the
  TSA's CA is configured;
- heads exported earlier (``--heads FILE``): each must still be in the store, naming records that
  are still there unchanged (a rollback, a restored backup, a rewrite with the keys all show);
- receipts partners kept (``--receipts DIR``): each signed by the connector, noted in the chain,
  and naming a chain head the chain still has.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from lxml import etree

from connector.errors import SimpleError
from connector.exchange.receipts import Receipt
from connector.store import ChainVerdict, EvidenceKind, SignedHead, Store
from signing import (
    HEAD_PROFILE,
    RECEIPT_PROFILE,
    DocumentProfile,
    Head,
    SignatureVerificationError,
    SignerPin,
    SigningIdentity,
    TimestampError,
    VerificationPolicy,
    VerifiedPackage,
    sha256_hex,
    verify_timestamp,
    verify_xml,
)

HEADS_FORMAT = "lienthong-connector-evidence-heads/1"


class HeadsFileError(SimpleError, ValueError):
    """An exported heads file that cannot be read."""


@dataclass(frozen=True)
class Witnesses:
    """What ``evidence verify`` checks the chain with: the connector's certificate (pinned), the
    trust anchors, the TSA's CA, and what left the box."""

    pin: SignerPin
    policy: VerificationPolicy
    tsa_trust: tuple[x509.Certificate, ...] = ()
    heads_file: Path | None = None
    receipts_dir: Path | None = None


@dataclass
class Audit:
    verdict: ChainVerdict
    broken: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def unauthenticated(self) -> str | None:
        """Records without a MAC: only ever legitimate before the first start after the upgrade."""
        count = self.verdict.unauthenticated_legacy
        if not count:
            return None
        return (
            f"records 1..{count} carry no MAC. Records from before the evidence keys are authenticated only "
            "by the start that makes the first key; otherwise the MACs were removed (docs/evidence.md)"
        )


def connector_pin(identity: SigningIdentity) -> SignerPin:
    """The connector's own signer: its OrganId when its certificate carries one (heads signed
    before a certificate renewal still verify), else exactly its certificate."""
    if identity.organ_id:
        return SignerPin(organ_id=identity.organ_id)
    return SignerPin.certificate(identity.certificate)


def audit(store: Store, witnesses: Witnesses) -> Audit:
    """The first thing broken (records, head row, heads, then the witnesses), with notes."""
    verdict = store.evidence.verify()
    result = Audit(verdict, verdict.broken)
    if result.broken is None:
        result.broken = _heads(verdict.heads, witnesses, result.notes)
    if result.broken is None and witnesses.heads_file is not None:
        result.broken = _exported(store, witnesses, result.notes)
    if result.broken is None and witnesses.receipts_dir is not None:
        result.broken = _receipts(store, witnesses, result.notes)
    return result


def _signed_by_connector(
    document: bytes, profile: DocumentProfile, at: datetime | None, witnesses: Witnesses
) -> tuple[VerifiedPackage, None] | tuple[None, str]:
    """The verified document, or the reason it is not the connector's (checked at ``at``, the
    time it states, so a certificate renewed since does not matter)."""
    policy = dataclasses.replace(witnesses.policy, at=at) if at else witnesses.policy
    try:
        result = verify_xml(document, policy, profile)
    except SignatureVerificationError as exc:
        return None, f"signature INVALID ({exc.reason.value}): {exc.message}"
    refusal = witnesses.pin.refusal(result)
    return (None, f"signer REFUSED: {refusal}") if refusal else (result, None)


def _heads(heads: list[SignedHead], witnesses: Witnesses, notes: list[str]) -> str | None:
    unstamped = unchecked = 0
    for head in heads:
        name = f"head {head.number}" if head.number is not None else f"legacy signed head {head.head_id}"
        result, reason = _signed_by_connector(head.signed_xml, HEAD_PROFILE, head.signed_at, witnesses)
        if reason:
            return f"{name}: {reason}"
        assert result is not None
        said = Head.from_signed(result.signed_root)
        if (said.seq, said.record_sha256, said.number, said.prev_head_sha256) != (
            head.seq,
            head.record_sha256,
            head.number,
            head.prev_head_sha256,
        ):
            return f"{name}: its row differs from what its signed XML says (record {said.seq})"
        if head.timestamp_response is None:
            unstamped += head.tsa_url is not None
        elif not witnesses.tsa_trust:
            unchecked += 1
        else:
            try:
                verify_timestamp(head.timestamp_response, head.signed_xml, list(witnesses.tsa_trust))
            except TimestampError as exc:
                return f"{name}: {exc}"
    if unstamped:
        notes.append(f"{unstamped} signed heads wait for a time-stamp (the TSA was down when they were signed)")
    if unchecked:
        notes.append(f"{unchecked} time-stamps not checked: set tsa_trust to the TSA's CA")
    return None


def read_heads_file(path: Path) -> list[SignedHead]:
    """An ``evidence heads export`` file, or an ``evidence_heads_dir`` (its ``head-*.xml`` files)."""
    if path.is_dir():
        return [_head_file(xml) for xml in sorted(path.glob("head-*.xml"))]
    try:
        document = json.loads(path.read_bytes())
        if document.get("format") != HEADS_FORMAT:
            raise HeadsFileError(f"{path} is not an exported heads file ({HEADS_FORMAT})")
        return [
            SignedHead(
                0,
                int(h["seq"]),
                h["record_sha256"],
                datetime.fromisoformat(h["signed_at"]),
                base64.b64decode(h["signed_xml"]),
                base64.b64decode(h["timestamp"]) if h.get("timestamp") else None,
                None,
                h.get("number"),
                h.get("prev_head_sha256"),
            )
            for h in document["heads"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HeadsFileError(f"cannot read the heads file {path}: {exc}") from None


def _head_file(path: Path) -> SignedHead:
    """A head as ``evidence_heads_dir`` holds it. What it says is read here only to know when to
    check its signature; ``_exported`` compares the verified document, never this."""
    try:
        signed_xml = path.read_bytes()
        said = Head.from_signed(etree.fromstring(signed_xml, etree.XMLParser(resolve_entities=False, no_network=True)))
    except (OSError, ValueError, KeyError, etree.XMLSyntaxError) as exc:
        raise HeadsFileError(f"cannot read the signed head {path}: {exc}") from None
    stamp = path.with_suffix(".tsr")
    tsr = stamp.read_bytes() if stamp.is_file() else None
    return SignedHead(0, said.seq, said.record_sha256, said.signed_at, signed_xml, tsr, None, said.number)


def heads_file(heads: list[SignedHead]) -> bytes:
    """The heads as ``evidence heads export`` writes them: signed XML and time-stamps included,
    so the file is evidence by itself (each head verifies with ``xmlsec1`` once decoded)."""
    entries = [
        {
            "number": h.number,
            "seq": h.seq,
            "record_sha256": h.record_sha256,
            "signed_at": h.signed_at.isoformat(),
            "prev_head_sha256": h.prev_head_sha256,
            "signed_xml": base64.b64encode(h.signed_xml).decode("ascii"),
            "timestamp": base64.b64encode(h.timestamp_response).decode("ascii") if h.timestamp_response else None,
        }
        for h in heads
    ]
    return json.dumps({"format": HEADS_FORMAT, "heads": entries}, indent=1).encode("utf-8")


def _record_hash(store: Store, seq: int) -> str | None:
    links = store.evidence.links(seq, seq)
    return links[0].record_sha256 if links else None


def _exported(store: Store, witnesses: Witnesses, notes: list[str]) -> str | None:
    assert witnesses.heads_file is not None
    kept = {h.number: h for h in store.evidence.signed_heads() if h.number is not None}
    exported = read_heads_file(witnesses.heads_file)
    for head in exported:
        name = f"exported head {head.number}"
        result, reason = _signed_by_connector(head.signed_xml, HEAD_PROFILE, head.signed_at, witnesses)
        if reason:
            return f"{name}: {reason}"
        assert result is not None
        said = Head.from_signed(result.signed_root)
        found = _record_hash(store, said.seq)
        if found is None:
            return f"{name}: record {said.seq} is gone (the chain was truncated or rolled back)"
        if found != said.record_sha256:
            return f"{name}: record {said.seq} differs from the exported head (the chain was rewritten)"
        mine = kept.get(said.number)
        if mine is None or mine.signed_xml != head.signed_xml:
            return f"{name}: missing from the store's signed heads (deleted or replaced)"
    notes.append(f"{len(exported)} exported heads found unchanged in the chain")
    return None


def _receipts(store: Store, witnesses: Witnesses, notes: list[str]) -> str | None:
    assert witnesses.receipts_dir is not None
    files = sorted(witnesses.receipts_dir.glob("*.xml"))
    for path in files:
        data = path.read_bytes()
        result, reason = _signed_by_connector(data, RECEIPT_PROFILE, None, witnesses)
        if reason:
            return f"receipt {path.name}: {reason}"
        assert result is not None
        receipt = Receipt.from_xml(etree.tostring(result.signed_root))  # only what was signed
        digest = sha256_hex(data)
        noted = [
            r
            for r in store.evidence.records([receipt.exchange_id])
            if r.kind is EvidenceKind.RECEIPT and r.data.get("receipt_sha256") == digest
        ]
        if not noted:
            return f"receipt {path.name}: no evidence record of exchange {receipt.exchange_id} notes it (removed)"
        if receipt.chain_seq and _record_hash(store, receipt.chain_seq) != receipt.chain_sha256:
            return (
                f"receipt {path.name}: names record {receipt.chain_seq} as {receipt.chain_sha256[:12]}..., "
                "the chain differs there (rewritten or rolled back)"
            )
    notes.append(f"{len(files)} receipts found in the chain, each naming a chain head it still has")
    return None
