"""Signing and verifying packages: what a valid signature looks like and what the verifier reports."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from lxml import etree

from signing import (
    EDXML_PROFILE,
    Reason,
    SignatureVerificationError,
    SigningError,
    SigningOptions,
    VerificationPolicy,
    enveloped_at_root,
    sign_package,
    sign_xml,
    verify_package,
    verify_xml,
)
from signing.profile import edxml
from signing.xmlparse import DSIG_NS
from testkit.packages import OTHER_ORG, SENDER, PackageSpec, build_package

DS = {"ds": DSIG_NS}


def test_signature_is_the_last_child_of_edxmlheader_and_covers_the_whole_package(signed: bytes) -> None:
    root = etree.fromstring(signed)
    header = root.find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}")
    assert header[-1].tag == f"{{{DSIG_NS}}}Signature"
    reference = header[-1].find("ds:SignedInfo/ds:Reference", DS)
    assert reference.get("URI") == ""
    transforms = [t.get("Algorithm") for t in reference.iterfind("ds:Transforms/ds:Transform", DS)]
    assert transforms == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    assert header[-1].find("ds:SignedInfo/ds:SignatureMethod", DS).get("Algorithm").endswith("rsa-sha256")
    assert header[-1].find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS) is not None


def test_valid_package_reports_signer_organisation_and_algorithm(signed: bytes, policy: VerificationPolicy) -> None:
    result = verify_package(signed, policy)
    assert result.signed
    assert result.signer_organ_id == SENDER == result.sender_organ_id
    assert "serialNumber=000.00.31.H31" in result.signer_subject
    assert result.signer_organ_name == "Sở Tư pháp tỉnh Hưng Yên"
    assert result.algorithm == "rsa-sha256" and result.digest_algorithm == "sha256"
    assert len(result.chain) == 2 and "Dev Root CA" in result.chain[-1]
    assert result.not_before < dt.datetime.now(dt.UTC) < result.not_after
    assert "AttachmentEncoded" in result.covered


def test_verified_package_is_the_signed_content_without_the_signature(
    signed: bytes, package: bytes, policy: VerificationPolicy
) -> None:
    result = verify_package(signed, policy)
    assert result.signed_root.find(f".//{{{DSIG_NS}}}Signature") is None
    # The canonical form of the original package is exactly what was signed.
    assert result.signed_xml == etree.tostring(etree.fromstring(package), method="c14n", exclusive=True)


def test_attachment_digests_are_those_of_the_files_sent(signed: bytes, policy: VerificationPolicy) -> None:
    spec = PackageSpec()
    [attachment] = verify_package(signed, policy).attachments()
    assert attachment.name == spec.attachments[0].name
    assert attachment.sha256 == hashlib.sha256(base64.b64decode(spec.attachments[0].encoded())).hexdigest()
    [member] = attachment.zip_members
    assert member.sha256 == hashlib.sha256(spec.attachments[0].data).hexdigest()


def test_ecdsa_p256_signature(package: bytes, issue, policy: VerificationPolicy) -> None:
    identity = issue(key_algorithm="ec")
    signed = sign_package(package, identity, SigningOptions(algorithm="ecdsa-sha256"))
    assert verify_package(signed, policy).algorithm == "ecdsa-sha256"


def test_algorithm_must_match_the_key(package: bytes, sender) -> None:
    with pytest.raises(SigningError, match="ECDSA"):
        sign_package(package, sender, SigningOptions(algorithm="ecdsa-sha256"))


def test_xades_bes_carries_a_signing_time(package: bytes, sender, policy: VerificationPolicy) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = verify_package(sign_package(package, sender, SigningOptions(xades=True)), policy)
    assert result.xades
    assert before <= result.signing_time <= dt.datetime.now(dt.UTC)


def test_chain_certificates_travel_in_x509data(package: bytes, dev_keys, sender) -> None:
    from signing.keys import SigningIdentity

    with_ca = SigningIdentity.from_certificate(sender.private_key, sender.certificate, dev_keys.trust_store)
    signed = sign_package(package, with_ca)
    assert len(etree.fromstring(signed).findall(".//ds:X509Certificate", DS)) == 2
    signed = sign_package(package, with_ca, SigningOptions(include_chain=False))
    assert len(etree.fromstring(signed).findall(".//ds:X509Certificate", DS)) == 1


def test_placeholder_signature_of_vendor_packages_is_replaced(sender, policy: VerificationPolicy) -> None:
    signed = sign_package(build_package(PackageSpec(placeholder_signature=True)), sender)
    header = etree.fromstring(signed).find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}")
    assert header.find(edxml("Signature")) is None
    assert verify_package(signed, policy).signed


def test_refuses_to_sign_a_package_that_is_already_signed(signed: bytes, sender) -> None:
    with pytest.raises(SigningError, match="already carries an XML-DSig Signature"):
        sign_package(signed, sender)


def test_refuses_to_sign_for_another_sender(dev_keys, package: bytes) -> None:
    with pytest.raises(SigningError, match="sender OrganId"):
        sign_package(package, dev_keys.identity(OTHER_ORG))


def test_refuses_doctype(sender) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(SigningError, match="DOCTYPE"):
        sign_package(evil, sender)


def test_archived_package_verifies_at_its_time_after_the_certificate_expired(package: bytes) -> None:
    from signing.keys import SigningIdentity
    from signing.pki import CertificateRequest, create_root_ca, generate_key, issue_signing_certificate

    ca_key, key = generate_key(), generate_key()
    ca_cert = create_root_ca(ca_key, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    request = CertificateRequest(SENDER, "Sở Tư pháp", not_before=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    identity = SigningIdentity.from_certificate(
        key, issue_signing_certificate(ca_key, ca_cert, key.public_key(), request)
    )
    signed = sign_package(package, identity)
    with pytest.raises(SignatureVerificationError) as failure:
        verify_package(signed, VerificationPolicy(trust_anchors=(ca_cert,)))
    assert failure.value.reason is Reason.CERT_EXPIRED
    archived = VerificationPolicy(trust_anchors=(ca_cert,), at=dt.datetime(2022, 11, 26, 15, tzinfo=dt.UTC))
    assert verify_package(signed, archived).signer_organ_id == SENDER


def test_unsigned_packages_pass_only_when_the_policy_allows(package: bytes, policy: VerificationPolicy) -> None:
    lenient = VerificationPolicy(trust_anchors=policy.trust_anchors, require_signature=False)
    result = verify_package(package, lenient)
    assert not result.signed and result.sender_organ_id == SENDER


def test_certificate_mapped_to_an_organisation_by_fingerprint(dev_keys, package: bytes, issue) -> None:
    # A certificate without OrganId in its subject (e.g. a commercial CA's) is mapped by configuration.
    identity = issue(organ_id="not-an-organ-id")
    signed = sign_package(package, identity, SigningOptions(check_sender=False))
    from signing.certs import fingerprint_sha256

    mapped = VerificationPolicy(
        trust_anchors=tuple(dev_keys.trust_store),
        org_cert_map={SENDER: frozenset({fingerprint_sha256(identity.certificate)})},
    )
    assert verify_package(signed, mapped).signer_organ_id == SENDER


def test_generic_profile_signs_connector_receipts(dev_keys, policy: VerificationPolicy) -> None:
    ns = "urn:connector:receipt"
    receipt = f'<r:Receipt xmlns:r="{ns}"><r:From>000.00.99.H31</r:From><r:Status>03</r:Status></r:Receipt>'.encode()
    profile = enveloped_at_root(f"{{{ns}}}Receipt", sender_path=(f"{{{ns}}}From",), name="receipt")
    signed = sign_xml(receipt, dev_keys.identity("connector"), profile=profile)
    result = verify_xml(signed, policy, profile)
    assert result.signer_organ_id == "000.00.99.H31"
    with pytest.raises(SignatureVerificationError) as failure:
        verify_xml(signed, policy, EDXML_PROFILE)
    assert failure.value.reason is Reason.WRONG_DOCUMENT


def test_packages_with_text_nodes_above_10_mb_are_signed_and_verified(sender, policy: VerificationPolicy) -> None:
    from testkit.packages import Attachment, fake_pdf

    big = PackageSpec(attachments=(Attachment("cid:big", "ho-so-scan.pdf", fake_pdf(8 * 1024 * 1024)),))
    result = verify_package(sign_package(build_package(big), sender), policy)
    assert result.signed_root.find(f".//{edxml('ContentTransferEncoded')}").text.startswith("UEsDB")
