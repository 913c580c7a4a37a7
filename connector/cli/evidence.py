"""The evidence log and the admin console's accounts: ``evidence verify|export|sign`` and
``operators add|list`` (docs/evidence.md, docs/admin.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connector.admin.auth import PasswordRefusedError, add_operator
from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of, store_of
from connector.clock import utcnow
from connector.evidence.bundle import EvidenceNotFoundError, export_bundle
from connector.serving.runtime import build_runtime
from connector.store import OperatorRole
from signing import TimestampError


def _evidence_verify(args: argparse.Namespace) -> int:
    verdict = store_of(args).evidence.verify()
    if verdict.broken:
        print(f"BROKEN: {verdict.broken}")
        return EXIT_INVALID
    print(
        f"OK: {verdict.records} records chained from the genesis hash to the head "
        f"(record {verdict.head_seq}, {verdict.head_sha256}); {verdict.signed_heads_checked} signed heads agree"
    )
    return 0


def _evidence_export(args: argparse.Namespace) -> int:
    runtime = build_runtime(settings_of(args))
    try:
        data = export_bundle(runtime.store, runtime.bundle_sources(), args.key)
    except EvidenceNotFoundError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    except TimestampError as exc:
        raise CliError(str(exc)) from None
    finally:
        runtime.close()
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    print(
        f"wrote {args.out} ({len(data):,} bytes); "
        f"check it with: python -m signing verify-bundle {args.out} --trust CA.pem"
    )
    return 0


def _evidence_sign(args: argparse.Namespace) -> int:
    runtime = build_runtime(settings_of(args))
    try:
        head = runtime.notary.sign_head()
    except TimestampError as exc:
        raise CliError(str(exc)) from None
    finally:
        runtime.close()
    stamp = f", time-stamped by {head.tsa_url}" if head.timestamp_response else ""
    print(f"signed head {head.head_id}: record {head.seq} ({head.record_sha256}){stamp}")
    return 0


def _operators_add(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise CliError("give the password on standard input with --password-stdin (never as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        new = add_operator(store_of(args, write=True), args.name, password, args.role, utcnow())
    except PasswordRefusedError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    print(f"operator {args.name} ({args.role.value}) {'added' if new else 'updated'}")
    return 0


def _operators_list(args: argparse.Namespace) -> int:
    for operator in store_of(args).operators.all():
        print(f"{operator.name:20} {operator.role.value:10} since {operator.created_at:%Y-%m-%d}")
    return 0


def add_evidence_commands(commands: argparse._SubParsersAction) -> None:
    evidence = commands.add_parser("evidence", help="the tamper-evident evidence log (docs/evidence.md)")
    sub = evidence.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="check the whole hash chain; names the first broken record")
    add_settings_options(verify)
    verify.set_defaults(run=_evidence_verify)
    export = sub.add_parser("export", help="an evidence bundle for a dossier or message, verifiable offline")
    export.add_argument("key", metavar="DOSSIER_CODE|MESSAGE_ID")
    export.add_argument("--out", type=Path, required=True, metavar="BUNDLE.zip")
    add_settings_options(export)
    export.set_defaults(run=_evidence_export)
    sign = sub.add_parser("sign", help="sign (and time-stamp, if a TSA is configured) the chain head now")
    add_settings_options(sign)
    sign.set_defaults(run=_evidence_sign)
    operators = commands.add_parser("operators", help="admin console accounts")
    sub = operators.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add an operator, or change its password and role")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--role", type=OperatorRole, choices=list(OperatorRole), default=OperatorRole.READ_ONLY)
    add_settings_options(add)
    add.set_defaults(run=_operators_add)
    listing = sub.add_parser("list", help="list operators")
    add_settings_options(listing)
    listing.set_defaults(run=_operators_list)
