"""``python -m connector``: the operator's command line.

Every failure prints one line (``error: ...``) and exits non-zero; never a traceback.
Exit codes: 0 ok, 1 the input is invalid, 2 usage or I/O problem.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from connector.cli.backup import add_backup_commands
from connector.cli.client import add_client_commands
from connector.cli.credentials import add_credentials_commands
from connector.cli.delivery import add_delivery_commands
from connector.cli.directory import add_directory_commands, add_faults_commands
from connector.cli.edxml import add_edxml_commands
from connector.cli.evidence import add_evidence_commands
from connector.cli.ops import add_db_commands, add_keys_commands
from connector.cli.support import EXIT_USAGE, CliError
from connector.errors import ConnectorError, SimpleError

COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_edxml_commands,
    add_directory_commands,
    add_faults_commands,
    add_delivery_commands,
    add_db_commands,
    add_keys_commands,
    add_credentials_commands,
    add_evidence_commands,
    add_client_commands,
    add_backup_commands,
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
    except ConnectorError as exc:  # e.g. the store is unreachable, or not at this version's schema
        code = "" if isinstance(exc, SimpleError) else f"{exc.code.value}: "
        print(f"error: {code}{' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
