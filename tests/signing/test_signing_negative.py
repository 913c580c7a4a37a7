"""Every way a package can fail verification, each with its own reason code."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod

from signing import (
    Reason,
    SignatureVerificationError,
    SigningOptions,
    VerificationPolicy,
    sign_package,
    verify_package,
)
from signing.certs import fingerprint_sha256
from signing.pki import KeyUsageSpec
from signing.profile import edxml
from signing.xmlparse import DSIG_NS
from testkit.packages import OTHER_ORG, SENDER, Attachment, PackageSpec, build_package, fake_pdf, make_crl

SIG = f"{{{DSIG_NS}}}Signature"


def reason_for(data: bytes, policy: VerificationPolicy) -> Reason:
    with pytest.raises(SignatureVerificationError) as failure:
        verify_package(data, policy)
    assert failure.value.message  # always a human explanation too
    return failure.value.reason


def _header(root: etree._Element) -> etree._Element:
    return root.find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}")


# --- the content changed ---------------------------------------------------------------------


def test_tampered_header_text(signed: bytes, policy: VerificationPolicy) -> None:
    tampered = signed.replace("tháng 11/2022</edXML:Subject>".encode(), "tháng 12/2022</edXML:Subject>".encode())
    assert tampered != signed
    assert reason_for(tampered, policy) is Reason.DIGEST_MISMATCH


def test_tampered_attachment_bytes(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    encoded = root.find(f".//{edxml('ContentTransferEncoded')}")
    data = bytearray(base64.b64decode(encoded.text))
    data[200] ^= 0x01
    encoded.text = base64.b64encode(bytes(data)).decode()
    assert reason_for(etree.tostring(root), policy) is Reason.DIGEST_MISMATCH


def test_swapped_attachments(sender, policy: VerificationPolicy) -> None:
    two = PackageSpec(
        attachments=(
            Attachment("cid:a", "quyet-dinh.pdf", fake_pdf(2000, 1)),
            Attachment("cid:b", "phu-luc.pdf", fake_pdf(2000, 2)),
        )
    )
    root = etree.fromstring(sign_package(build_package(two), sender))
    first, second = root.findall(f".//{edxml('ContentTransferEncoded')}")
    first.text, second.text = second.text, first.text
    assert reason_for(etree.tostring(root), policy) is Reason.DIGEST_MISMATCH


def test_re_indented_signed_package(signed: bytes, policy: VerificationPolicy) -> None:
    # A pretty-printer re-indents SignedInfo too, so the SignatureValue no longer matches.
    parser = etree.XMLParser(remove_blank_text=True)
    reindented = etree.tostring(etree.fromstring(signed, parser), pretty_print=True)
    assert reason_for(reindented, policy) is Reason.SIGNATURE_INVALID


def test_re_indented_content_with_signature_left_alone(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    for element in root.iter(edxml("MessageHeader")):
        element.text = "\n\t\t"
    assert reason_for(etree.tostring(root), policy) is Reason.DIGEST_MISMATCH


def test_extra_unsigned_attachment(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    container = root.find(edxml("AttachmentEncoded"))
    container.append(etree.fromstring(etree.tostring(container[0])))
    assert reason_for(etree.tostring(root), policy) is Reason.DIGEST_MISMATCH


def test_tampered_signature_value(signed: bytes, policy: VerificationPolicy) -> None:
    value = re.search(rb"<ds:SignatureValue>([^<]+)</ds:SignatureValue>", signed).group(1)
    raw = bytearray(base64.b64decode(value))
    raw[0] ^= 0x01  # still valid base64, no longer the signature
    tampered = signed.replace(value, base64.b64encode(bytes(raw)), 1)
    assert reason_for(tampered, policy) is Reason.SIGNATURE_INVALID


# --- signature wrapping ------------------------------------------------------------------------


def test_moved_signature(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    root.append(_header(root).find(SIG))
    assert reason_for(etree.tostring(root), policy) is Reason.WRAPPING


def test_signed_package_nested_under_a_forged_root(signed: bytes, policy: VerificationPolicy) -> None:
    forged = etree.fromstring(build_package(PackageSpec(subject="Yêu cầu chuyển tiền gấp")))
    forged.find(edxml("AttachmentEncoded")).append(etree.fromstring(signed))
    data = etree.tostring(forged, encoding="UTF-8")
    # A naive reader of the root would see the forged subject ...
    assert b"chuy\xe1\xbb\x83n ti\xe1\xbb\x81n" in data
    assert reason_for(data, policy) is Reason.WRAPPING


def test_extra_unsigned_envelope_sibling(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    forged_envelope = etree.fromstring(build_package(PackageSpec(subject="Giả mạo"))).find(edxml("edXMLEnvelope"))
    root.insert(0, forged_envelope)
    assert reason_for(etree.tostring(root), policy) is Reason.WRAPPING


def test_second_signature(signed: bytes, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    _header(root).append(etree.fromstring(etree.tostring(_header(root).find(SIG))))
    assert reason_for(etree.tostring(root), policy) is Reason.WRAPPING


def test_reference_to_part_of_the_document(signed: bytes, policy: VerificationPolicy) -> None:
    assert reason_for(signed.replace(b'URI=""', b'URI="#body"', 1), policy) is Reason.WRONG_REFERENCE


# --- the signer --------------------------------------------------------------------------------


def test_wrong_certificate_in_keyinfo(signed: bytes, dev_keys, policy: VerificationPolicy) -> None:
    root = etree.fromstring(signed)
    cert_el = root.find(f".//{{{DSIG_NS}}}X509Certificate")
    other = dev_keys.identity(OTHER_ORG).certificate
    cert_el.text = base64.b64encode(other.public_bytes(Encoding.DER)).decode()
    assert reason_for(etree.tostring(root), policy) is Reason.SIGNATURE_INVALID


def test_untrusted_ca(package: bytes, rogue_identity, policy: VerificationPolicy) -> None:
    assert reason_for(sign_package(package, rogue_identity), policy) is Reason.UNTRUSTED_CHAIN


def test_expired_certificate(package: bytes, issue, policy: VerificationPolicy) -> None:
    identity = issue(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=400), validity=dt.timedelta(days=365))
    assert reason_for(sign_package(package, identity), policy) is Reason.CERT_EXPIRED


def test_not_yet_valid_certificate(package: bytes, issue, policy: VerificationPolicy) -> None:
    identity = issue(not_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert reason_for(sign_package(package, identity), policy) is Reason.CERT_NOT_YET_VALID


@pytest.mark.parametrize(
    "key_usage", [None, KeyUsageSpec(digital_signature=False)], ids=["no-extension", "no-digitalSignature"]
)
def test_missing_key_usage(package: bytes, issue, policy: VerificationPolicy, key_usage) -> None:
    assert reason_for(sign_package(package, issue(key_usage=key_usage)), policy) is Reason.KEY_USAGE


def test_revoked_certificate(package: bytes, issue, dev_keys, tmp_path) -> None:
    now = dt.datetime.now(dt.UTC)
    identity = issue()  # valid from 5 minutes ago, like the development CA
    signed = sign_package(package, identity)
    crl = make_crl(dev_keys, [(identity.certificate, now - dt.timedelta(minutes=1))], tmp_path / "ca.crl")
    with_crl = VerificationPolicy.from_paths(trust=[dev_keys.ca_path], crls=[crl])
    assert reason_for(signed, with_crl) is Reason.REVOKED
    # An archived package verified at a time before the revocation stays valid.
    before = VerificationPolicy.from_paths(trust=[dev_keys.ca_path], crls=[crl], at=now - dt.timedelta(minutes=2))
    assert "not revoked" in verify_package(signed, before).revocation[0]


def test_revocation_required_but_no_crl(signed: bytes, dev_keys) -> None:
    strict = VerificationPolicy.from_paths(trust=[dev_keys.ca_path], require_revocation_info=True)
    assert reason_for(signed, strict) is Reason.REVOCATION_UNKNOWN


def test_valid_signature_by_another_organisation_than_the_sender(
    package: bytes, dev_keys, policy: VerificationPolicy
) -> None:
    signed = sign_package(package, dev_keys.identity(OTHER_ORG), SigningOptions(check_sender=False))
    assert reason_for(signed, policy) is Reason.SIGNER_MISMATCH


def test_pinned_signer(signed: bytes, dev_keys, policy: VerificationPolicy) -> None:
    other = fingerprint_sha256(dev_keys.identity(OTHER_ORG).certificate)
    pinned = VerificationPolicy(trust_anchors=policy.trust_anchors, pinned_signers={SENDER: frozenset({other})})
    assert reason_for(signed, pinned) is Reason.PINNED_SIGNER_MISMATCH
    own = fingerprint_sha256(dev_keys.identity(SENDER).certificate)
    accepted = VerificationPolicy(trust_anchors=policy.trust_anchors, pinned_signers={SENDER: frozenset({own})})
    assert verify_package(signed, accepted).signer_organ_id == SENDER


# --- algorithms and input ----------------------------------------------------------------------


class _LegacySha1Signer(XMLSigner):
    """What old vendor SDKs produce; signxml rightly refuses SHA-1 unless told otherwise."""

    def check_deprecated_methods(self) -> None:
        pass


def _sha1_signed(package: bytes, sender) -> bytes:
    root = etree.fromstring(package)
    etree.SubElement(_header(root), SIG, Id="placeholder")
    signer = _LegacySha1Signer(
        signature_algorithm="rsa-sha1",
        digest_algorithm="sha1",
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    return etree.tostring(signer.sign(root, key=sender.private_key, cert=[sender.certificate]))


def test_sha1_refused_unless_the_policy_allows_it(package: bytes, sender, policy: VerificationPolicy) -> None:
    legacy = _sha1_signed(package, sender)
    assert reason_for(legacy, policy) is Reason.ALGORITHM_NOT_ALLOWED
    allowing = VerificationPolicy(trust_anchors=policy.trust_anchors, allow_sha1=True)
    assert verify_package(legacy, allowing).algorithm == "rsa-sha1"


def test_unsigned_package(package: bytes, policy: VerificationPolicy) -> None:
    assert reason_for(package, policy) is Reason.UNSIGNED


def test_not_xml(policy: VerificationPolicy) -> None:
    assert reason_for(b"1212<?xml version='1.0'?><edXML/>", policy) is Reason.MALFORMED_XML


def test_doctype_is_refused(policy: VerificationPolicy) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaa">]><edXML>&a;</edXML>'
    assert reason_for(evil, policy) is Reason.MALFORMED_XML


def test_size_cap(signed: bytes, policy: VerificationPolicy) -> None:
    small = VerificationPolicy(trust_anchors=policy.trust_anchors, max_bytes=1000)
    assert reason_for(signed, small) is Reason.DOCUMENT_TOO_LARGE


def test_signature_without_certificate(signed: bytes, policy: VerificationPolicy) -> None:
    stripped = re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", b"", signed, flags=re.S)
    assert reason_for(stripped, policy) is Reason.MALFORMED_SIGNATURE
