"""Located problems in a package, and the exception that carries them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connector.errors import ConnectorError, ErrorCode


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"  # reported, never a reason to refuse a package


@dataclass(frozen=True)
class Issue:
    code: ErrorCode
    reason: str
    path: str | None = None
    line: int | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = " ".join(part for part in (f"line {self.line}" if self.line else None, self.path) if part)
        return f"{where}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code.value,
            "path": self.path,
            "line": self.line,
            "reason": self.reason,
        }


class EdxmlError(ConnectorError):
    """A package was refused; ``issues`` lists every error found, the first one is the message."""

    def __init__(self, issues: list[Issue]) -> None:
        errors = [i for i in issues if i.severity is Severity.ERROR] or issues
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first.code, f"{first}{more}", field=first.path)
        self.issues = errors

    @classmethod
    def single(cls, code: ErrorCode, reason: str, path: str | None = None, line: int | None = None) -> EdxmlError:
        return cls([Issue(code, reason, path, line)])
