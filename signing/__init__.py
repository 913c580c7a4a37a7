"""XML digital signatures on edXML packages (QCVN 102:2016): signing, trust policy, verification.

See docs/signing.md. The public API is re-exported here.
"""

from .certs import fingerprint_sha256, subject_text
from .errors import KeyMaterialError, Reason, SignatureVerificationError, SigningError
from .keys import (
    CONNECTOR_ORG,
    DevKeyLayout,
    OrgSpec,
    SigningIdentity,
    init_dev_keys,
    load_dev_keys,
    load_password,
    read_org_cert_map,
)
from .policy import DEFAULT_MAX_BYTES, VerificationPolicy
from .profile import EDXML_PROFILE, RECEIPT_NS, RECEIPT_PROFILE, DocumentProfile, enveloped_at_root
from .sign import SigningOptions, sign_package, sign_xml
from .verify import VerifiedPackage, verify_package, verify_xml

__all__ = [
    "CONNECTOR_ORG",
    "DEFAULT_MAX_BYTES",
    "EDXML_PROFILE",
    "RECEIPT_NS",
    "RECEIPT_PROFILE",
    "DevKeyLayout",
    "DocumentProfile",
    "KeyMaterialError",
    "OrgSpec",
    "Reason",
    "SignatureVerificationError",
    "SigningError",
    "SigningIdentity",
    "SigningOptions",
    "VerificationPolicy",
    "VerifiedPackage",
    "enveloped_at_root",
    "fingerprint_sha256",
    "init_dev_keys",
    "load_dev_keys",
    "load_password",
    "read_org_cert_map",
    "sign_package",
    "sign_xml",
    "subject_text",
    "verify_package",
    "verify_xml",
]
