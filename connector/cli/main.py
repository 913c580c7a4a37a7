"""``python -m connector``: the operator's command line.

Every failure prints one line (``error: ...``) and exits non-zero; never a traceback.
Exit codes: 0 ok, 1 the input is invalid, 2 usage or I/O problem.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from connector.cli.credentials import add_credentials_commands
from connector.cli.evidence import add_evidence_commands
from connector.cli.ops import add_db_commands, add_keys_commands
from connector.cli.support import EXIT_INVALID, EXIT_USAGE, CliError, add_settings_options, settings_of
from connector.clock import utcnow
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
from connector.errors import FAULTS, ConnectorError
from connector.exchange.directory import DirectoryFormatError, directory_to_json, parse_directory
from connector.ops.logs import configure_logging
from connector.serving.runtime import build_runtime, build_worker, open_existing_store, open_store
from connector.store import BreakerState, MigrationError, OutboxState, Store


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path!r}: {exc.strerror}") from None


# ---- edxml -----------------------------------------------------------------------------------
def _edxml_inspect(args: argparse.Namespace) -> int:
    try:
        package = parse(_read(args.file))
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
    report = validate(_read(args.file))
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
        spec = json.loads(_read(args.from_json))
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


def _add_edxml(commands: argparse._SubParsersAction) -> None:
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


# ---- settings-backed commands ---------------------------------------------------------------
def _store(args: argparse.Namespace, write: bool = False) -> Store:
    """Commands that change something open the store as the server does (migrated when
    ``auto_migrate`` says so, created if new); commands that only read never create one."""
    settings = settings_of(args)
    return open_store(settings, seed=False) if write else open_existing_store(settings)


def _directory_import(args: argparse.Namespace) -> int:
    try:
        directory = parse_directory(_read(args.file).decode("utf-8"), args.file)
    except (DirectoryFormatError, UnicodeDecodeError) as exc:
        raise CliError(f"{args.file}: {exc}", EXIT_INVALID) from None
    counts = _store(args, write=True).import_directory(directory)
    print("imported " + ", ".join(f"{n} {name}" for name, n in counts.items() if n))
    return 0


def _directory_list(args: argparse.Namespace) -> int:
    directory = _store(args).directory()
    if args.json:
        print(directory_to_json(directory))
        return 0
    for o in directory.organizations:
        print(f"organisation {o.organ_id:16} {o.name}  (clerk: {o.clerk_account or '-'})")
    for sy in directory.systems:
        print(
            f"system       {sy.system_id:16} {sy.kind.value:8} {sy.organ_id}  {sy.mode.value} "
            f"{sy.endpoint or ''}".rstrip()
        )
    for a in directory.accounts:
        print(f"account      {a.username:16} {a.organ_id}  {a.role}  {a.full_name or ''}".rstrip())
    for u in directory.username_map:
        print(f"username     {u.onestop_username:16} -> {u.docmgmt_username}")
    for p in directory.procedures:
        state = "interconnected" if p.interconnection else "NOT interconnected"
        print(f"procedure    {p.code:24} {p.agency_id}  {p.default_kind.value}  {state}  {p.name}")
    return 0


def _add_directory(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("directory", help="organisations, systems, accounts, username mapping, procedures")
    sub = group.add_subparsers(dest="action", required=True)
    load = sub.add_parser("import", help="import (upsert) a JSON or CSV directory file (docs/operations.md)")
    load.add_argument("file")
    add_settings_options(load)
    load.set_defaults(run=_directory_import)
    show = sub.add_parser("list", help="list the directory")
    show.add_argument("--json", action="store_true")
    add_settings_options(show)
    show.set_defaults(run=_directory_list)


def _faults(args: argparse.Namespace) -> int:
    if args.markdown:
        print("| Code (detail) | faultcode | When | What the caller should do |\n|---|---|---|---|")
        for code, spec in FAULTS.items():
            print(f"| `{code.value}` | `soap:{code.value.split('.')[0]}` | {spec.when} | {spec.action} |")
    else:
        for code, spec in FAULTS.items():
            print(f"{code.value:34} {spec.when}")
    return 0


def _add_faults(commands: argparse._SubParsersAction) -> None:
    faults = commands.add_parser("faults", help="the SOAP fault-code table")
    faults.add_argument("--markdown", action="store_true", help="as the table in docs/contract.md")
    faults.set_defaults(run=_faults)


def _outbox_list(args: argparse.Namespace) -> int:
    items = _store(args).outbox_items(state=args.state)
    if args.json:
        print(json.dumps([to_plain(i) for i in items], ensure_ascii=False, indent=2, default=str))
        return 0
    if not items:
        print(f"no outbox items{f' in state {args.state}' if args.state else ''}")
    for i in items:
        print(
            f"{i.item_id:5} {i.state:9} {i.operation:15} {i.system_id:15} {i.mode.value:4} attempts={i.attempts} "
            f"next={i.next_attempt_at:%Y-%m-%d %H:%M:%S} exchange={i.exchange_id}"
            + (f"\n      last error: {i.last_error}" if i.last_error else "")
            + (f"\n      partner reference: {i.partner_reference}" if i.partner_reference else "")
        )
    return 0


def _outbox_retry(args: argparse.Namespace) -> int:
    store = _store(args, write=True)
    item = store.outbox_item(args.item_id)
    if item is None:
        raise CliError(f"no outbox item {args.item_id}", EXIT_INVALID)
    if not store.retry(args.item_id, utcnow()):
        raise CliError(f"outbox item {args.item_id} is {item.state}; only dead items can be retried", EXIT_INVALID)
    print(f"outbox item {args.item_id} ({item.operation} to {item.system_id}) is due again")
    return 0


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = int((now - since).total_seconds())
    sign, seconds = ("in ", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    text = f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s" if rest >= 60 else f"{rest}s"
    return sign + text + ("" if sign else " ago")


def _outbox_stats(args: argparse.Namespace) -> int:
    store = _store(args)
    now = utcnow()
    stats, queues = store.outbox_stats(now), store.partner_queues()
    if args.json:
        plain = {
            "at": now.isoformat(),
            "stats": [dataclasses.asdict(s) for s in stats],
            "partners": [dataclasses.asdict(q) for q in queues.values()],
        }
        print(json.dumps(plain, ensure_ascii=False, indent=2, default=str))
        return 0
    if not stats:
        print("the outbox is empty")
    else:
        print(f"{'partner':18} {'state':10} {'count':>7} {'oldest':>12} {'next attempt':>12} {'in flight':>9}")
    for s in stats:
        print(
            f"{s.system_id:18} {s.state:10} {s.count:7} {_age(s.oldest_created_at, now):>12} "
            f"{_age(s.next_attempt_at, now) if s.next_attempt_at else '-':>12} {s.in_flight:9}"
        )
    for q in queues.values():
        if q.paused:
            print(
                f"{q.system_id}: PAUSED {_age(q.paused_at, now)}" + (f" ({q.pause_reason})" if q.pause_reason else "")
            )
        if q.breaker is BreakerState.OPEN:
            print(f"{q.system_id}: breaker OPEN since {q.breaker_since:%Y-%m-%d %H:%M:%S} UTC ({q.last_error or '-'})")
    return 0


def _outbox_pause(args: argparse.Namespace) -> int:
    store = _store(args, write=True)
    if store.system(args.system_id) is None:
        raise CliError(f"no system {args.system_id!r} in the directory", EXIT_INVALID)
    pause = args.action == "pause"
    changed = store.set_paused(args.system_id, pause, utcnow(), args.reason if pause else None)
    done = "paused: nothing is sent to it until resumed" if pause else "resumed: its due items go out now"
    print(f"{args.system_id} {done}" if changed else f"{args.system_id} was already {'paused' if pause else 'running'}")
    return 0


def _exchange_show(args: argparse.Namespace) -> int:
    store = _store(args)
    found = [store.exchange(args.key)] if store.exchange(args.key) else store.exchanges_for_dossier(args.key)
    if not found:
        raise CliError(f"no exchange with id or dossier {args.key!r}", EXIT_INVALID)
    for x in found:
        print(f"Exchange {x.exchange_id}  [{x.state.value}]")
        print(f"  dossier {x.dossier_code} (one-stop no. {x.onestop_number or '-'}), procedure {x.procedure_code}")
        print(
            f"  {x.kind.value} from {x.source_organ}/{x.sender_username} to {x.agency_organ} "
            f"{x.queue} queue of {x.target_account}"
        )
        print(f"  document {x.document_id} code {x.document_code or '-'}")
        if x.result_code:
            print(
                f"  result {x.result_code} issued {x.result_issue_date:%Y/%m/%d} by "
                f"{x.result_signer or '-'} ({x.result_position or '-'})"
            )
        print("  timeline:")
        for e in store.timeline(x.exchange_id):
            code = f" [{e.status_code}]" if e.status_code else ""
            print(f"    {e.at:%Y-%m-%d %H:%M:%S}  {e.state.value:12}{code:5} {e.actor:28} {e.note or ''}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    configure_logging(settings.log_format)
    runtime = build_runtime(settings)
    worker = build_worker(runtime)
    print(f"delivery worker on {settings.effective_database_url}", flush=True)
    try:
        worker.run()
    finally:
        runtime.close()
    return 0


def _add_delivery(commands: argparse._SubParsersAction) -> None:
    outbox = commands.add_parser("outbox", help="the delivery outbox")
    sub = outbox.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="list outbox items")
    listing.add_argument("--state", type=OutboxState, choices=list(OutboxState))
    listing.add_argument("--json", action="store_true")
    add_settings_options(listing)
    listing.set_defaults(run=_outbox_list)
    stats = sub.add_parser("stats", help="per partner and state: counts, oldest item, next attempt, in flight")
    stats.add_argument("--json", action="store_true")
    add_settings_options(stats)
    stats.set_defaults(run=_outbox_stats)
    pause = sub.add_parser("pause", help="stop delivering to a partner system (a planned maintenance window)")
    pause.add_argument("system_id", metavar="SYSTEM_ID")
    pause.add_argument("--reason", help="shown by outbox stats")
    resume = sub.add_parser("resume", help="deliver to a paused partner system again")
    resume.add_argument("system_id", metavar="SYSTEM_ID")
    for command in (pause, resume):
        add_settings_options(command)
        command.set_defaults(run=_outbox_pause)
    retry = sub.add_parser("retry", help="send a dead letter again")
    retry.add_argument("item_id", type=int, metavar="ID")
    add_settings_options(retry)
    retry.set_defaults(run=_outbox_retry)
    exchange = commands.add_parser("exchange", help="exchanges")
    sub = exchange.add_subparsers(dest="action", required=True)
    show = sub.add_parser("show", help="an exchange and its timeline, by id or dossier code/number")
    show.add_argument("key", metavar="ID|DOSSIER_CODE")
    add_settings_options(show)
    show.set_defaults(run=_exchange_show)
    worker = commands.add_parser("worker", help="run the delivery worker as its own process")
    add_settings_options(worker)
    worker.set_defaults(run=_worker)


# Later subsystems register their command groups here.
COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_edxml,
    _add_directory,
    _add_faults,
    _add_delivery,
    add_db_commands,
    add_keys_commands,
    add_credentials_commands,
    add_evidence_commands,
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connector", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMAND_GROUPS:
        add(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ConnectorError as exc:  # e.g. the store is unreachable
        print(f"error: {exc.code.value}: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except MigrationError as exc:  # no database, or not at the schema this version needs
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
