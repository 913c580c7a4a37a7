"""Fixtures: a real development PKI (generated once per test session) and signed packages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from signing.keys import DevKeyLayout, SigningIdentity, init_dev_keys, load_certificates_pem, load_private_key_pem
from signing.pki import CertificateRequest, create_root_ca, generate_key, issue_signing_certificate
from signing.policy import VerificationPolicy
from signing.sign import sign_package
from testkit.packages import SENDER, build_package

IssueIdentity = Callable[..., SigningIdentity]


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> DevKeyLayout:
    return init_dev_keys(tmp_path_factory.mktemp("devkeys"))


@pytest.fixture(scope="session")
def sender(dev_keys: DevKeyLayout) -> SigningIdentity:
    return dev_keys.identity(SENDER)


@pytest.fixture(scope="session")
def policy(dev_keys: DevKeyLayout) -> VerificationPolicy:
    return VerificationPolicy(trust_anchors=tuple(dev_keys.trust_store))


@pytest.fixture(scope="session")
def package() -> bytes:
    return build_package()


@pytest.fixture(scope="session")
def signed(package: bytes, sender: SigningIdentity) -> bytes:
    return sign_package(package, sender)


@pytest.fixture(scope="session")
def issue(dev_keys: DevKeyLayout) -> IssueIdentity:
    """Issue an extra identity from the development CA with custom certificate properties
    (validity, KeyUsage, key algorithm) – for the expired / not-yet-valid / KeyUsage cases."""
    ca_key = load_private_key_pem(dev_keys.ca_key_path)
    ca_cert = load_certificates_pem(dev_keys.ca_path)[0]

    def _issue(organ_id: str = SENDER, key_algorithm: str = "rsa", **request: object) -> SigningIdentity:
        key = generate_key(key_algorithm)
        spec = CertificateRequest(organ_id=organ_id, organ_name="Cơ quan thử nghiệm", **request)  # type: ignore[arg-type]
        return SigningIdentity.from_certificate(key, issue_signing_certificate(ca_key, ca_cert, key.public_key(), spec))

    return _issue


@pytest.fixture(scope="session")
def rogue_identity() -> SigningIdentity:
    """An identity claiming the sender's OrganId, issued by a CA nobody trusts."""
    ca_key = generate_key("rsa")
    ca_cert = create_root_ca(ca_key, common_name="Rogue CA")
    key = generate_key("rsa")
    cert = issue_signing_certificate(ca_key, ca_cert, key.public_key(), CertificateRequest(SENDER, "Giả mạo"))
    return SigningIdentity.from_certificate(key, cert, [ca_cert])
