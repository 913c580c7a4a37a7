"""Reading what a certificate says about its holder.

Convention for certificates issued to agencies (documented in docs/signing.md):
the OrganId (mã định danh) is the subject's ``serialNumber`` attribute (OID 2.5.4.5),
the organisation name is ``O`` (falling back to ``CN``).
"""

from __future__ import annotations

import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the DER certificate (the form used in org maps and pins)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def normalize_fingerprint(value: str) -> str:
    """Accept ``AB:CD:..`` or ``abcd..`` spellings so configuration can be pasted from openssl."""
    return value.replace(":", "").strip().lower()


def _first_attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attributes = name.get_attributes_for_oid(oid)
    if not attributes:
        return None
    value = attributes[0].value
    return value.decode() if isinstance(value, bytes) else value


def organ_id_of(cert: x509.Certificate) -> str | None:
    """The OrganId carried in the subject ``serialNumber``, if any."""
    return _first_attribute(cert.subject, NameOID.SERIAL_NUMBER)


def organ_name_of(cert: x509.Certificate) -> str | None:
    return _first_attribute(cert.subject, NameOID.ORGANIZATION_NAME) or _first_attribute(
        cert.subject, NameOID.COMMON_NAME
    )


@functools.lru_cache(maxsize=1024)
def subject_text(cert: x509.Certificate) -> str:
    """RFC 4514 subject with readable attribute names (serialNumber is not in the RFC's short list).
    Memoised: formatting a name costs ~40 µs, and every verification names the whole chain."""
    return cert.subject.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"})


def key_usage_of(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
