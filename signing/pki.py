"""Issuing development certificates (root CA and per-organisation signing certificates).

Used by ``python -m signing keys init`` and by the tests; production certificates
come from a licensed Vietnamese CA and are only loaded, never issued, here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Realistic lifetimes: Vietnamese public CAs issue organisation signing certificates for
# 1–3 years under roots valid for about 20 years.
CA_VALIDITY = dt.timedelta(days=365 * 10)
SIGNER_VALIDITY = dt.timedelta(days=365 * 2)
# Certificates are back-dated a little so that a receiver whose clock is slightly behind accepts them.
BACKDATE = dt.timedelta(minutes=5)


def generate_key(algorithm: str = "rsa") -> PrivateKey:
    """RSA-2048 (the national default) or ECDSA P-256."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key algorithm {algorithm!r} (expected 'rsa' or 'ec')")


@dataclass(frozen=True)
class KeyUsageSpec:
    """Key usages to put in a signing certificate; None means: omit the extension entirely."""

    digital_signature: bool = True
    content_commitment: bool = True  # a.k.a. nonRepudiation


@dataclass(frozen=True)
class CertificateRequest:
    """What to put in a signing certificate."""

    organ_id: str
    organ_name: str
    province: str = "Hưng Yên"
    not_before: dt.datetime | None = None
    validity: dt.timedelta = SIGNER_VALIDITY
    key_usage: KeyUsageSpec | None = field(default_factory=KeyUsageSpec)


def _name(common_name: str, organization: str, province: str, organ_id: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, province),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if organ_id is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, organ_id))
    return x509.Name(attributes)


def create_root_ca(
    key: PrivateKey,
    common_name: str = "Dev Root CA – Kết nối liên thông (KHÔNG DÙNG THẬT)",
    now: dt.datetime | None = None,
) -> x509.Certificate:
    start = (now or dt.datetime.now(dt.UTC)) - BACKDATE
    name = _name(common_name, "Môi trường phát triển", "Hưng Yên")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def issue_signing_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    request: CertificateRequest,
) -> x509.Certificate:
    """A document-signing certificate with the OrganId in the subject ``serialNumber``."""
    start = request.not_before or (dt.datetime.now(dt.UTC) - BACKDATE)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(request.organ_name, request.organ_name, request.province, request.organ_id))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + request.validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if request.key_usage is not None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=request.key_usage.digital_signature,
                content_commitment=request.key_usage.content_commitment,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(ca_key, hashes.SHA256())
