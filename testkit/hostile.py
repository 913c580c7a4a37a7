"""Certificates nobody trusts, and signed packages carrying them in KeyInfo: what a forger can
make for free (the hostile-signature tests and ``bench/bench_limits.py``)."""

from __future__ import annotations

import base64
import datetime as dt
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def junk_certificate(serial: int, key_usage: bool = True) -> x509.Certificate:
    """A self-signed EC certificate, distinct per ``serial``: what a forger can make for free."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"junk {serial}")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial + 1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if key_usage:
        usage = dict.fromkeys(
            (
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, **usage), critical=True)
    return builder.sign(key, hashes.SHA256())


def certificate_text(cert: x509.Certificate) -> bytes:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER))


def with_key_info_certificates(signed: bytes, texts: list[bytes], replace: bool = False) -> bytes:
    """The signed package with more X509Certificate elements in KeyInfo (not covered by the
    signature, so the signature itself stays valid), or with ``texts`` instead of the originals."""
    extra = b"".join(b"<ds:X509Certificate>" + text + b"</ds:X509Certificate>" for text in texts)
    if replace:
        return re.sub(
            rb"<ds:X509Data>.*?</ds:X509Data>",
            b"<ds:X509Data>" + extra + b"</ds:X509Data>",
            signed,
            count=1,
            flags=re.S,
        )
    return signed.replace(b"</ds:X509Data>", extra + b"</ds:X509Data>", 1)
