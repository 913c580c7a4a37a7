"""XML digital signatures on edXML packages (QCVN 102:2016): signing, trust policy, verification.

See docs/signing.md. The public API is re-exported here.
"""

from .bundle import BundleVerdict, Check, verify_bundle
from .bundle_format import (
    EVIDENCE_NS,
    HEAD_PROFILE,
    MANIFEST_PROFILE,
    BundleLayout,
    Head,
    ManifestEntry,
    manifest_entries,
    manifest_xml,
    write_zip,
)
from .certs import fingerprint_sha256, subject_text
from .chain import GENESIS, ORIGIN, ChainLink, canonical_json, first_break, link_hash, sha256_hex
from .errors import CannotSignError, KeyMaterialError, Reason, SignatureVerificationError, SigningError
from .keys import (
    CONNECTOR_ORG,
    DevKeyLayout,
    OrgSpec,
    SigningIdentity,
    init_dev_keys,
    load_certificates_pem,
    load_dev_keys,
    load_password,
    read_org_cert_map,
)
from .pin import ANY_SIGNER, SignerPin
from .policy import DEFAULT_MAX_BYTES, VerificationPolicy
from .profile import EDXML_PROFILE, RECEIPT_NS, RECEIPT_PROFILE, DocumentProfile, enveloped_at_root
from .sign import SigningOptions, sign_package, sign_xml
from .timestamp import TimestampError, request_timestamp, verify_timestamp
from .verify import VerifiedPackage, verify_package, verify_xml

__all__ = [
    "EVIDENCE_NS",
    "HEAD_PROFILE",
    "MANIFEST_PROFILE",
    "RECEIPT_NS",
    "RECEIPT_PROFILE",
    "BundleLayout",
    "BundleVerdict",
    "Check",
    "Head",
    "ManifestEntry",
    "manifest_entries",
    "manifest_xml",
    "write_zip",
    "GENESIS",
    "ORIGIN",
    "ChainLink",
    "canonical_json",
    "first_break",
    "link_hash",
    "sha256_hex",
    "CONNECTOR_ORG",
    "DEFAULT_MAX_BYTES",
    "EDXML_PROFILE",
    "DevKeyLayout",
    "DocumentProfile",
    "KeyMaterialError",
    "OrgSpec",
    "Reason",
    "SignatureVerificationError",
    "SigningError",
    "CannotSignError",
    "SigningIdentity",
    "SigningOptions",
    "TimestampError",
    "VerificationPolicy",
    "VerifiedPackage",
    "enveloped_at_root",
    "fingerprint_sha256",
    "init_dev_keys",
    "load_dev_keys",
    "load_certificates_pem",
    "load_password",
    "read_org_cert_map",
    "request_timestamp",
    "sign_package",
    "sign_xml",
    "subject_text",
    "verify_bundle",
    "ANY_SIGNER",
    "SignerPin",
    "verify_package",
    "verify_timestamp",
    "verify_xml",
]
