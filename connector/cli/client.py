"""What a client developer uses: ``wsse-header SYSTEM_ID --password-stdin`` prints a fresh
``wsse:Security`` header (UsernameToken, PasswordDigest) for a hand-written SOAP envelope
(docs/integration.md, section 5). It reads no data directory: it is the client's side.
"""

from __future__ import annotations

import argparse
import os
import sys

from connector.auth.wsse import digest_header
from connector.cli.support import CliError
from connector.clock import utcnow

NONCE_BYTES = 16  # as zeep sends


def _wsse_header(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise CliError("give the password on standard input with --password-stdin (never as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input")
    created = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    print(digest_header(args.system_id, password, os.urandom(NONCE_BYTES), created))
    return 0


def add_client_commands(commands: argparse._SubParsersAction) -> None:
    header = commands.add_parser(
        "wsse-header",
        help="print a fresh wsse:Security header (PasswordDigest) for a hand-written envelope",
        description="Prints a WS-Security UsernameToken header with a PasswordDigest, a fresh random "
        "Nonce and Created = now (UTC), for a soap:Header. Each header is good for one request "
        "(the nonce is single-use) within the connector's Created window (5 minutes by default).",
    )
    header.add_argument("system_id", metavar="SYSTEM_ID", help="the username: your system id in the directory")
    header.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    header.set_defaults(run=_wsse_header)
