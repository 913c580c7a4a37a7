"""``python -m connector edxml inspect|validate|build``: edXML packages on the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from connector.cli.support import EXIT_INVALID, CliError, read_input
from connector.edxml import (
    DocumentPackage,
    EdxmlError,
    Package,
    Priority,
    SignatureState,
    SpecError,
    StatusPackage,
    build,
    package_from_spec,
    parse,
    to_plain,
    validate,
)


def _edxml_inspect(args: argparse.Namespace) -> int:
    try:
        package = parse(read_input(args.file))
    except EdxmlError as exc:
        raise CliError(f"{args.file}: {exc}", EXIT_INVALID) from None
    if args.json:
        kind = "status" if isinstance(package, StatusPackage) else "document"
        print(json.dumps({"type": kind} | to_plain(package), ensure_ascii=False, indent=2))
    else:
        print(describe(package))
    return 0


def describe(package: Package) -> str:
    """The human summary printed by ``edxml inspect``."""
    signature = {
        SignatureState.ABSENT: "none (unsigned)",
        SignatureState.PLACEHOLDER: "placeholder outside the XML-DSig namespace (unsigned)",
        SignatureState.XMLDSIG: "XML-DSig present (check it with: python -m signing verify)",
    }[package.signature]
    org = package.sender
    lines = []
    if isinstance(package, StatusPackage):
        rf = package.response_for
        lines += [
            f"Status package: {package.status_code.value} {package.status_code.label}",
            f"From:        {org.organ_id} {org.organ_name or ''}".rstrip(),
            f"Answers:     DocumentId {rf.document_id} (code {rf.code}, organisation {rf.organ_id})",
            f"Time:        {package.timestamp:%Y/%m/%d %H:%M:%S}",
        ]
        if package.staff:
            lines.append(f"Staff:       {package.staff.staff or ''} ({package.staff.department or ''})")
        if package.description:
            lines.append(f"Description: {package.description}")
        lines.append(f"Signature:   {signature}")
        return "\n".join(lines)
    assert isinstance(package, DocumentPackage)
    priority = package.other.priority
    lines += [
        "Document package",
        f"From:        {org.organ_id} {org.organ_name or ''}".rstrip(),
        *(f"To:          {r.organ_id} {r.organ_name or ''}".rstrip() for r in package.recipients),
        f"DocumentId:  {package.document_id}",
        f"Code:        {package.code}",
        f"Subject:     {package.subject}",
        f"Type:        {package.document_type.type} {package.document_type.type_name or ''}".rstrip(),
        f"Priority:    {'-' if priority is None else f'{int(priority)} ({Priority(priority).name.lower()})'}",
        f"Promulgated: {_date(package.promulgation.date)} {package.promulgation.place or ''}".rstrip(),
        f"Due date:    {_date(package.due_date)}",
    ]
    if package.business:
        lines.append(f"Business:    {package.business.doc_type.name.lower()} ({package.business.reason or ''})")
    for rf in package.response_for:
        lines.append(f"Responds to: {rf.code} of {rf.organ_id} (DocumentId {rf.document_id})")
    lines.append(f"Signature:   {signature}")
    lines.append(f"Attachments: {len(package.attachments)}")
    for a in package.attachments:
        lines.append(f"  - {a.name} [{a.content_type}] {a.size:,} bytes, {a.encoding.value}, sha256 {a.sha256}")
    return "\n".join(lines)


def _date(value: object) -> str:
    return value.strftime("%Y/%m/%d") if value else "-"  # type: ignore[attr-defined]


def _edxml_validate(args: argparse.Namespace) -> int:
    report = validate(read_input(args.file))
    if args.json:
        print(
            json.dumps(
                {"valid": report.valid, "issues": [i.as_dict() for i in report.issues]}, ensure_ascii=False, indent=2
            )
        )
    else:
        for issue in report.issues:
            print(f"{args.file}: {issue.severity.value}: {issue}")
        print(
            f"{args.file}: {'valid' if report.valid else 'INVALID'} ({len(report.errors)} errors, "
            f"{len(report.warnings)} warnings)"
        )
    return 0 if report.valid else EXIT_INVALID


def _edxml_build(args: argparse.Namespace) -> int:
    spec_path = Path(args.from_json)
    try:
        spec = json.loads(read_input(args.from_json))
    except json.JSONDecodeError as exc:
        raise CliError(f"{args.from_json}: not JSON ({exc})", EXIT_INVALID) from None
    if not isinstance(spec, dict):
        raise CliError(f"{args.from_json}: the spec must be a JSON object", EXIT_INVALID)
    try:
        package = package_from_spec(spec, spec_path.parent)
    except SpecError as exc:
        raise CliError(f"{args.from_json}: {exc}", EXIT_INVALID) from None
    data = build(package)
    report = validate(data)
    if not report.valid:
        raise CliError(f"{args.from_json}: the package would be invalid: {report.errors[0]}", EXIT_INVALID)
    try:
        Path(args.out).write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {args.out!r}: {exc.strerror}") from None
    print(f"wrote {args.out} ({len(data):,} bytes, DocumentId {getattr(package, 'document_id', '-')})")
    return 0


def add_edxml_commands(commands: argparse._SubParsersAction) -> None:
    edxml = commands.add_parser("edxml", help="inspect, validate and build edXML packages")
    sub = edxml.add_subparsers(dest="action", required=True)
    inspect = sub.add_parser("inspect", help="summarise a package")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(run=_edxml_inspect)
    check = sub.add_parser("validate", help="list every located error; exit 0 only when valid")
    check.add_argument("file")
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=_edxml_validate)
    make = sub.add_parser("build", help="build a package from a JSON spec (docs/edxml.md)")
    make.add_argument("--from-json", required=True, metavar="SPEC.json")
    make.add_argument("--out", required=True, metavar="FILE")
    make.set_defaults(run=_edxml_build)
