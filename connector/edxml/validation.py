"""``validate(bytes)``: every problem in a package, each with its path, line and reason."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import xmlschema
from lxml import etree

from connector.edxml import parser, rules, schema
from connector.edxml.issues import EdxmlError, Issue, Severity
from connector.edxml.model import Package
from connector.edxml.paths import path_of
from connector.edxml.rules import ValidationSettings
from connector.edxml.safexml import ParseLimits, parse_xml
from connector.errors import ErrorCode


@dataclass
class ValidationReport:
    issues: list[Issue] = field(default_factory=list)
    package: Package | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> Package:
        if not self.valid or self.package is None:
            raise EdxmlError(self.issues)
        return self.package


def validate(
    data: bytes,
    settings: ValidationSettings = ValidationSettings(),
    limits: ParseLimits = ParseLimits(),
) -> ValidationReport:
    try:
        tree = parse_xml(data, limits)
    except EdxmlError as exc:
        return ValidationReport(exc.issues)
    return validate_tree(tree, settings, limits)


def validate_tree(
    tree: etree._ElementTree,
    settings: ValidationSettings = ValidationSettings(),
    limits: ParseLimits = ParseLimits(),
) -> ValidationReport:
    """``validate`` for a document already parsed (and checked with ``safexml.check_tree``).
    Reading the model consumes the attachments' base64 text in the tree."""
    issues: list[Issue] = []
    if not schema.lxml_schema().validate(tree):
        issues.extend(_explain(tree, limits))
    package, read_issues = parser.read(tree, limits)
    located = {(i.path, i.line) for i in issues}
    issues.extend(i for i in read_issues if (i.path, i.line) not in located)
    if package is not None:
        issues.extend(rules.check(package, settings))
    return ValidationReport(issues, package)


def _explain(tree, limits: ParseLimits, clock: Callable[[], float] = time.monotonic) -> list[Issue]:  # noqa: ANN001
    """xmlschema's located errors, bounded: a package with 100,000 unknown elements would
    otherwise take minutes to explain (lxml has already decided it is invalid)."""
    if _more_elements_than(tree.getroot(), limits.max_explained_elements):
        return _lxml_issues(limits)
    found = []
    deadline = clock() + limits.explain_seconds
    resource = xmlschema.XMLResource(tree.getroot(), allow="none", defuse="always")
    for error in schema.explaining_schema().iter_errors(resource):
        element = error.elem
        line = getattr(element, "sourceline", None)
        path = path_of(element) if element is not None and hasattr(element, "getparent") else error.path
        found.append(Issue(ErrorCode.SCHEMA_INVALID, error.reason or str(error.message), path, line))
        if len(found) >= limits.max_explained_errors or clock() > deadline:
            found.append(
                Issue(
                    ErrorCode.SCHEMA_INVALID,
                    f"schema errors after the first {len(found)} were not examined",
                    severity=Severity.WARNING,
                )
            )
            return found
    return found or _lxml_issues(limits)  # lxml and xmlschema disagree: lxml's words rather than nothing


def _lxml_issues(limits: ParseLimits) -> list[Issue]:
    log = schema.lxml_schema().error_log
    return [
        Issue(ErrorCode.SCHEMA_INVALID, e.message, e.path, e.line) for e in list(log)[: limits.max_explained_errors]
    ]


def _more_elements_than(root: etree._Element, limit: int) -> bool:
    return any(True for _ in itertools.islice(root.iter(), limit, None))
