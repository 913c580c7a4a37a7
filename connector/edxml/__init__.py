"""edXML (QCVN 102:2016) packages: model, builder, parser and validation. No framework imports."""

from connector.edxml.builder import build
from connector.edxml.issues import EdxmlError, Issue, Severity
from connector.edxml.model import *  # noqa: F403
from connector.edxml.parser import parse
from connector.edxml.rules import ValidationSettings
from connector.edxml.safexml import ParseLimits
from connector.edxml.validation import ValidationReport, validate, validate_tree

__all__ = [  # noqa: F405
    "build",
    "parse",
    "validate",
    "validate_tree",
    "EdxmlError",
    "Issue",
    "Severity",
    "ParseLimits",
    "ValidationReport",
    "ValidationSettings",
]
