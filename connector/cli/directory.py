"""``python -m connector directory import|list`` and ``faults`` (the fault-code table)."""

from __future__ import annotations

import argparse

from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, read_input, store_of
from connector.errors import FAULTS
from connector.exchange.directory import DirectoryFormatError, directory_to_json, parse_directory


def _directory_import(args: argparse.Namespace) -> int:
    try:
        directory = parse_directory(read_input(args.file).decode("utf-8"), args.file)
    except (DirectoryFormatError, UnicodeDecodeError) as exc:
        raise CliError(f"{args.file}: {exc}", EXIT_INVALID) from None
    plan = store_of(args, write=not args.dry_run).import_directory(
        directory, replace=args.replace, dry_run=args.dry_run
    )
    for change in plan.changes:
        print(change.describe())
    mode = "replace" if args.replace else "merge"
    print(f"{'would change' if args.dry_run else 'imported'} ({mode}): {plan.summary()}")
    return 0


def _directory_list(args: argparse.Namespace) -> int:
    directory = store_of(args).directory()
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


def add_directory_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("directory", help="organisations, systems, accounts, username mapping, procedures")
    sub = group.add_subparsers(dest="action", required=True)
    load = sub.add_parser(
        "import",
        help="merge a JSON or CSV directory file into the directory (docs/operations.md)",
        description="Merges by default: the fields a record names replace the stored ones, the fields "
        "and records the file leaves out stay. --replace makes the file the whole directory.",
    )
    load.add_argument("file")
    load.add_argument(
        "--replace", action="store_true", help="records absent from the file are removed, absent fields reset"
    )
    load.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
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


def add_faults_commands(commands: argparse._SubParsersAction) -> None:
    faults = commands.add_parser("faults", help="the SOAP fault-code table")
    faults.add_argument("--markdown", action="store_true", help="as the table in docs/contract.md")
    faults.set_defaults(run=_faults)
