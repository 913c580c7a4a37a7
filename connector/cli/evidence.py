"""The evidence log and the admin console's accounts: ``evidence verify|export|sign|heads
export|rotate-key`` and ``operators add|list`` (docs/evidence.md, docs/admin.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connector.admin.auth import PasswordRefusedError, add_operator
from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of, store_of
from connector.clock import utcnow
from connector.evidence.audit import HeadsFileError, Witnesses, audit, connector_pin, heads_file
from connector.evidence.bundle import EvidenceNotFoundError, export_bundle
from connector.serving.runtime import Runtime, build_runtime
from connector.store import EvidenceKeyError, EvidenceKeys, OperatorRole
from signing import TimestampError, load_certificates_pem


def _runtime_with_keys(args: argparse.Namespace) -> Runtime:
    """The runtime, once the evidence keys are known to exist: a missing key directory must be
    reported as such, not as every MAC failing against a key made just now."""
    settings = settings_of(args)
    try:
        EvidenceKeys.load(settings.effective_evidence_keys_dir, create=False)
    except EvidenceKeyError as exc:
        raise CliError(f"{exc}: evidence verify needs the connector's evidence keys") from None
    return build_runtime(settings)


def _evidence_verify(args: argparse.Namespace) -> int:
    runtime = _runtime_with_keys(args)
    try:
        config = runtime.service.config
        tsa_trust = tuple(c for path in runtime.settings.tsa_trust for c in load_certificates_pem(path))
        witnesses = Witnesses(connector_pin(config.identity), config.policy, tsa_trust, args.heads, args.receipts)
        result = audit(runtime.store, witnesses)
    except HeadsFileError as exc:
        raise CliError(str(exc)) from None
    finally:
        runtime.close()
    verdict = result.verdict
    if result.broken:
        print(f"BROKEN: {result.broken}")
        return EXIT_INVALID
    if result.unauthenticated:
        print(f"UNAUTHENTICATED: {result.unauthenticated}")
        return EXIT_INVALID
    print(
        f"OK: {verdict.records} records chained from the genesis hash to the head "
        f"(record {verdict.head_seq}, {verdict.head_sha256}), each record and the head row authenticated "
        f"with the evidence key; {verdict.signed_heads_checked} signed heads agree, signed by "
        f"{witnesses.pin.describe()}"
    )
    if verdict.sealed_legacy:
        through, at = verdict.sealed_legacy
        print(f"  legacy: records 1..{through} were written before the evidence keys, authenticated at {at}")
    if verdict.uncovered:
        first, last = verdict.uncovered
        print(f"  not yet covered by a signed head: records {first}..{last} (python -m connector evidence sign)")
    for note in result.notes:
        print(f"  {note}")
    return 0


def _evidence_heads_export(args: argparse.Namespace) -> int:
    store = store_of(args)
    try:
        heads = [h for h in reversed(store.evidence.signed_heads()) if h.number is not None]
    finally:
        store.close()
    try:
        args.out.write_bytes(heads_file(heads))
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    last = f", the newest: head {heads[-1].number} at record {heads[-1].seq}" if heads else ""
    print(f"wrote {len(heads)} signed heads to {args.out}{last}; keep it off this machine")
    return 0


def _evidence_rotate_key(args: argparse.Namespace) -> int:
    directory = settings_of(args).effective_evidence_keys_dir
    try:
        number = EvidenceKeys.rotate(directory)
    except EvidenceKeyError as exc:
        raise CliError(str(exc)) from None
    print(
        f"evidence key {number} added in {directory}; restart every connector process to use it, "
        "keep the older keys (they check older records) and back the directory up apart from the database"
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
        f"check it with: python -m signing verify-bundle {args.out} --trust CA.pem --connector-cert CONNECTOR.pem"
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
    verify = sub.add_parser(
        "verify", help="check the chain, its MACs and signed heads; names the first broken record or head"
    )
    verify.add_argument(
        "--heads",
        type=Path,
        metavar="FILE|DIR",
        help="heads exported earlier (a heads export file, or an evidence_heads_dir): each must still be there",
    )
    verify.add_argument(
        "--receipts", type=Path, metavar="DIR", help="receipts a partner kept (*.xml): each must be in the chain"
    )
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
    heads = sub.add_parser("heads", help="the signed heads, to keep off this machine")
    heads_sub = heads.add_subparsers(dest="heads_action", required=True)
    heads_export = heads_sub.add_parser("export", help="write every signed head (XML and time-stamp) to a file")
    heads_export.add_argument("--out", type=Path, required=True, metavar="FILE")
    add_settings_options(heads_export)
    heads_export.set_defaults(run=_evidence_heads_export)
    rotate = sub.add_parser("rotate-key", help="add a new evidence key (older keys stay to check older records)")
    add_settings_options(rotate)
    rotate.set_defaults(run=_evidence_rotate_key)
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
