"""Rules an XSD cannot express: dates in the future, OrganId formats, calendar dates."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from connector.edxml.issues import Issue, Severity
from connector.edxml.model import DocumentPackage, Package, StatusPackage
from connector.errors import ErrorCode

# V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.00.H31 (13 characters).
ORGAN_ID = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z][A-Z0-9]{2}")
_MESSAGE_HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"


@dataclass(frozen=True)
class ValidationSettings:
    # Hosted tenants use system ids instead of 13-character OrganIds (glob patterns).
    organ_id_exceptions: tuple[str, ...] = ("vxp.saas.*",)
    today: date | None = None  # None: the real date; tests and archives pin it

    def organ_id_ok(self, organ_id: str) -> bool:
        return bool(ORGAN_ID.fullmatch(organ_id)) or any(
            fnmatch.fnmatchcase(organ_id, pattern) for pattern in self.organ_id_exceptions
        )


@dataclass
class _Check:
    settings: ValidationSettings
    issues: list[Issue] = field(default_factory=list)

    def organ_id(self, organ_id: str | None, path: str, severity: Severity = Severity.ERROR) -> None:
        if organ_id and not self.settings.organ_id_ok(organ_id):
            self.issues.append(
                Issue(
                    ErrorCode.PACKAGE_INVALID,
                    f"OrganId {organ_id!r} is not of the form 000.00.00.H31 and not a configured exception",
                    path,
                    severity=severity,
                )
            )


def check(package: Package, settings: ValidationSettings) -> Iterator[Issue]:
    c = _Check(settings)
    today = settings.today or date.today()
    c.organ_id(package.sender.organ_id, f"{_MESSAGE_HEADER}/From/OrganId")
    if isinstance(package, StatusPackage):
        c.organ_id(package.response_for.organ_id, f"{_MESSAGE_HEADER}/ResponseFor/OrganId")
        return iter(c.issues)
    assert isinstance(package, DocumentPackage)
    for index, recipient in enumerate(package.recipients, 1):
        suffix = f"[{index}]" if len(package.recipients) > 1 else ""
        c.organ_id(recipient.organ_id, f"{_MESSAGE_HEADER}/To{suffix}/OrganId")
    for trace in package.traces:
        # Senders write junk here (`null`, short ids): worth a warning, never a refusal.
        c.organ_id(
            trace.organ_id, "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader/OrganId", Severity.WARNING
        )
    promulgated = package.promulgation.date
    if promulgated and promulgated > today:
        c.issues.append(
            Issue(
                ErrorCode.PACKAGE_INVALID,
                f"PromulgationDate {promulgated:%Y/%m/%d} is in the future (today is {today:%Y/%m/%d})",
                f"{_MESSAGE_HEADER}/PromulgationInfo/PromulgationDate",
            )
        )
    return iter(c.issues)
