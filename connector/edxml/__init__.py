"""edXML (QCVN 102:2016) packages: model, builder, parser and validation. No framework imports.

Everything callers need is exported here; the submodules are the package's own business.
"""

from connector.edxml.b64 import Base64Error, strict_b64decode
from connector.edxml.builder import build
from connector.edxml.issues import EdxmlError, Issue, Severity
from connector.edxml.model import (
    DSIG_NAMESPACE,
    NAMESPACE,
    Attachment,
    AttachmentEncoding,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    Package,
    Priority,
    PromulgationInfo,
    ReplacementInfo,
    ResponseFor,
    SignatureState,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)
from connector.edxml.parser import parse
from connector.edxml.paths import DATE_FORMAT, TIMESTAMP_FORMAT
from connector.edxml.received import check_declared_encoding, check_received
from connector.edxml.rules import ValidationSettings
from connector.edxml.safexml import MiB, ParseLimits, check_attributes, check_tree, parse_xml
from connector.edxml.spec import SpecError, package_from_spec, to_plain
from connector.edxml.validation import ValidationReport, validate, validate_tree

__all__ = [
    "Base64Error",
    "strict_b64decode",
    "DATE_FORMAT",
    "DSIG_NAMESPACE",
    "NAMESPACE",
    "TIMESTAMP_FORMAT",
    "Attachment",
    "AttachmentEncoding",
    "Business",
    "BusinessDocType",
    "Code",
    "DocumentPackage",
    "DocumentType",
    "EdxmlError",
    "Issue",
    "MiB",
    "Organization",
    "OtherInfo",
    "Package",
    "ParseLimits",
    "Priority",
    "PromulgationInfo",
    "ReplacementInfo",
    "ResponseFor",
    "Severity",
    "SignatureState",
    "SignerInfo",
    "SpecError",
    "StaffInfo",
    "StatusCode",
    "StatusPackage",
    "TraceHeader",
    "ValidationReport",
    "ValidationSettings",
    "build",
    "check_attributes",
    "check_declared_encoding",
    "check_received",
    "check_tree",
    "package_from_spec",
    "parse",
    "parse_xml",
    "to_plain",
    "validate",
    "validate_tree",
]
