"""Signature family: packages whose XML signature is forged, padded with certificates, wrapped or
altered. Each is refused over HTTP with its documented fault and its own reason; the certificate
count is bounded before any certificate is decoded, and the verified-path cache stays bounded."""

from __future__ import annotations

import base64
import re

import pytest
from lxml import etree

from connector.edxml import build
from connector.errors import ErrorCode
from signing import SigningOptions, VerificationPolicy, sign_package, verify_package
from simulators import guide
from testkit.faults import refused_envelope
from testkit.hostile import certificate_text, junk_certificate, with_key_info_certificates
from testkit.live import row_counts
from testkit.rawsoap import b64, envelope, post, send_document

DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture(scope="module")
def signed(live) -> bytes:  # noqa: F811
    """The guide's dossier, correctly signed by the one-stop organisation (not yet sent)."""
    return sign_package(build(guide.send_package()), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))


@pytest.fixture(scope="module")
def junk() -> list[bytes]:
    return [certificate_text(junk_certificate(i)) for i in range(200)]


def second_signature(data: bytes) -> bytes:
    root = etree.fromstring(data)
    header = root.find(".//{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXMLHeader")
    header.append(etree.fromstring(etree.tostring(header.find(f"{DS}Signature"))))
    return etree.tostring(root)


def moved_signature(data: bytes) -> bytes:
    root = etree.fromstring(data)
    root.append(root.find(f".//{DS}Signature"))
    return etree.tostring(root)


def flipped_signature_value(data: bytes) -> bytes:
    value = re.search(rb"<ds:SignatureValue>([^<]+)</ds:SignatureValue>", data).group(1)
    raw = bytearray(base64.b64decode(value))
    raw[0] ^= 0x01
    return data.replace(value, base64.b64encode(bytes(raw)), 1)


# (how to forge it from the signed package and 200 junk certificates, fault, reason in the message)
CASES = {
    "9 certificates in KeyInfo": (lambda s, j: with_key_info_certificates(s, j[:8]), "TOO_MANY_CERTIFICATES"),
    "200 certificates in KeyInfo": (lambda s, j: with_key_info_certificates(s, j), "TOO_MANY_CERTIFICATES"),
    "9 X509Data elements": (
        lambda s, j: s.replace(
            b"</ds:KeyInfo>",
            b"".join(b"<ds:X509Data><ds:X509Certificate>" + c + b"</ds:X509Certificate></ds:X509Data>" for c in j[:8])
            + b"</ds:KeyInfo>",
            1,
        ),
        "TOO_MANY_CERTIFICATES",
    ),
    "200 unreadable certificates": (
        lambda s, j: with_key_info_certificates(s, [b"AAAA"] * 200),
        "TOO_MANY_CERTIFICATES",
    ),
    "an unreadable certificate": (
        lambda s, j: with_key_info_certificates(s, [b"AAAA"], replace=True),
        "MALFORMED_SIGNATURE",
    ),
    "a junk certificate instead of the signer's": (
        lambda s, j: with_key_info_certificates(s, j[:1], replace=True),
        "UNTRUSTED_CHAIN",
    ),
    "a junk certificate without KeyUsage": (
        lambda s, j: with_key_info_certificates(
            s, [certificate_text(junk_certificate(999, key_usage=False))], replace=True
        ),
        "KEY_USAGE",
    ),
    "no certificate at all": (
        lambda s, j: re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", b"", s, flags=re.S),
        "MALFORMED_SIGNATURE",
    ),
    "content changed after signing": (lambda s, j: s.replace(b"LT_iGate", b"LT_iGatX"), "DIGEST_MISMATCH"),
    "signature value altered": (lambda s, j: flipped_signature_value(s), "SIGNATURE_INVALID"),
    "a second signature": (lambda s, j: second_signature(s), "WRAPPING"),
    "the signature moved to the root": (lambda s, j: moved_signature(s), "WRAPPING"),
    "a reference to part of the document": (lambda s, j: s.replace(b'URI=""', b'URI="#body"', 1), "WRONG_REFERENCE"),
    "SHA-1 digest": (
        lambda s, j: s.replace(
            b"http://www.w3.org/2001/04/xmlenc#sha256", b"http://www.w3.org/2000/09/xmldsig#sha1", 1
        ),
        "ALGORITHM_NOT_ALLOWED",
    ),
    "no signature": (lambda s, j: build(guide.send_package()), "UNSIGNED"),
}


@pytest.mark.parametrize("name", CASES)
def test_forged_signature_gets_its_fault_and_reason_and_changes_nothing(live, signed, junk, name):  # noqa: F811
    forge, reason = CASES[name]
    fault = refused_envelope(live, envelope(send_document(b64(forge(signed, junk)))), ErrorCode.SIGNATURE_INVALID)
    assert fault.message.startswith(reason), fault.message


def test_a_signature_by_another_organisation_is_a_sender_mismatch(live):  # noqa: F811
    identity = live.runtime.dev_keys.identity(guide.AGENCY.organ_id)
    data = sign_package(build(guide.send_package()), identity, SigningOptions(check_sender=False))
    refused_envelope(live, envelope(send_document(b64(data))), ErrorCode.SENDER_MISMATCH)


def test_the_certificate_cap_is_counted_before_decoding(live, signed):  # noqa: F811
    fault = refused_envelope(
        live, envelope(send_document(b64(with_key_info_certificates(signed, [b"!"] * 50)))), ErrorCode.SIGNATURE_INVALID
    )
    assert fault.message.startswith("TOO_MANY_CERTIFICATES") and "51 certificates; at most 8" in fault.message


def test_at_the_certificate_cap_the_signature_is_still_verified(live, signed, junk):  # noqa: F811
    padded = with_key_info_certificates(signed, junk[:7])  # the signer + 7 junk = 8
    before = row_counts(live)
    response = post(live.url, envelope(send_document(b64(padded))))
    assert response.status_code == 200, response.text[:300]
    assert row_counts(live)["exchanges"] == before["exchanges"] + 1


# ---- the verified-path cache ----------------------------------------------------------------
def test_the_path_cache_is_keyed_by_the_exact_chain_and_bounded(live, signed, junk):  # noqa: F811
    base = live.runtime.service.config.policy
    policy = VerificationPolicy(trust_anchors=base.trust_anchors, org_cert_map=base.org_cert_map, chain_cache_size=3)
    for i in range(10):  # ten chains as sent: the signer plus a different junk certificate each
        verify_package(with_key_info_certificates(signed, junk[i : i + 1]), policy)
    assert len(policy.chain_cache) == 3
    verify_package(signed, policy)  # the signer alone is yet another chain
    assert len(policy.chain_cache) == 3
