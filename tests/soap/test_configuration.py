"""A production-style configuration: configured trust anchors, the receipt key from a
password-protected PKCS#12 (password from the environment), a pinned signer for a sender."""

from __future__ import annotations

import pytest
import zeep
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from connector.config import load_settings
from connector.edxml import build
from connector.errors import ErrorCode
from connector.exchange.receipts import RECEIPT_PROFILE
from signing import SigningIdentity, VerificationPolicy, init_dev_keys, sign_package, verify_xml
from signing.certs import fingerprint_sha256
from signing.keys import CONNECTOR_ORG, OrgSpec, load_certificates_pem, load_private_key_pem
from signing.pki import CertificateRequest, generate_key, issue_signing_certificate
from simulators import guide
from testkit.faults import documented_code
from testkit.live import start_connector
from testkit.net import new_id
from tests.soap.test_guide_cases import DOSSIER


def second_identity(keys, organ_id: str) -> SigningIdentity:
    """Another certificate for the same organisation, from the same CA."""
    ca_key, ca_cert = load_private_key_pem(keys.ca_key_path), load_certificates_pem(keys.ca_path)[0]
    key = generate_key()
    cert = issue_signing_certificate(ca_key, ca_cert, key.public_key(), CertificateRequest(organ_id, "Một cửa"))
    return SigningIdentity.from_certificate(key, cert)


def test_configured_trust_pkcs12_receipt_key_and_pinned_signer(tmp_path, monkeypatch):
    keys = init_dev_keys(tmp_path / "pki", [OrgSpec(guide.ONESTOP.organ_id, "Một cửa"), CONNECTOR_ORG])
    connector_identity = keys.identity("connector")
    p12 = tmp_path / "connector.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"connector",
            connector_identity.private_key,
            connector_identity.certificate,
            None,
            BestAvailableEncryption(b"s3cret"),
        )
    )
    monkeypatch.setenv("CONNECTOR_P12_PASSWORD", "s3cret")
    pinned = second_identity(keys, guide.ONESTOP.organ_id)
    config = tmp_path / "connector.toml"
    config.write_text(
        f'trust = ["{keys.ca_path}"]\nidentity_p12 = "{p12}"\nidentity_password_env = "CONNECTOR_P12_PASSWORD"\n'
        f'[pinned_signers]\n"{guide.ONESTOP.organ_id}" = ["{fingerprint_sha256(pinned.certificate)}"]\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert settings.identity_p12 == p12 and guide.ONESTOP.organ_id in settings.pinned_signers

    live, server = start_connector(
        tmp_path / "data",
        trust=list(settings.trust),
        identity_p12=settings.identity_p12,
        identity_password_env="CONNECTOR_P12_PASSWORD",
        pinned_signers=settings.pinned_signers,
    )
    try:
        assert live.runtime.dev_keys is None  # nothing generated: the configured PKI is used
        client = live.client()

        def send(identity: SigningIdentity):
            return client.service.sendDocument(
                messageId=new_id(),
                edxmlPackage=sign_package(build(guide.send_package()), identity),
                kind="INCOMING",
                senderUsername="cbtiepnhan",
                dossier=DOSSIER,
            )

        with pytest.raises(zeep.exceptions.Fault) as caught:
            send(keys.identity(guide.ONESTOP.organ_id))  # trusted, right organisation, but not the pinned certificate
        assert documented_code(caught.value) == ErrorCode.SENDER_MISMATCH.value
        assert "PINNED_SIGNER_MISMATCH" in caught.value.message

        receipt = send(pinned)
        verified = verify_xml(
            receipt.signedReceipt, VerificationPolicy.from_paths(trust=[keys.ca_path]), RECEIPT_PROFILE
        )
        assert verified.signer_fingerprint == fingerprint_sha256(connector_identity.certificate)
    finally:
        server.stop()
        live.runtime.close()
