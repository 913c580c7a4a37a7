"""Caller credentials: ``credentials set|list|revoke|map-cert`` (docs/security.md).

Passwords come from standard input only (never an argument, so never in a shell history or a
process list) and are stored encrypted; nothing prints a secret.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography import x509

from connector.auth.admin import CredentialAdmin, CredentialError
from connector.auth.secretbox import SecretBox, SecretKeyError
from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of
from connector.serving.runtime import open_store


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path!r}: {exc.strerror}") from None


def _admin(args: argparse.Namespace) -> CredentialAdmin:
    settings = settings_of(args)
    try:
        box = SecretBox.load(settings.effective_secret_key_file)
    except SecretKeyError as exc:
        raise CliError(str(exc)) from None
    return CredentialAdmin(open_store(settings, seed=False), box)


def _credentials_set(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise CliError("give the password on standard input with --password-stdin (never as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        _admin(args).set_password(args.system_id, password)
    except CredentialError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    print(f"password set for {args.system_id} (stored encrypted)")
    return 0


def _credentials_set_partner(args: argparse.Namespace) -> int:
    if not args.secret_stdin:
        raise CliError("give the secret on standard input with --secret-stdin (never as an argument)")
    secret = sys.stdin.readline().rstrip("\r\n")
    try:
        _admin(args).set_partner_secret(args.system_id, secret)
    except CredentialError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    print(f"partner secret set for {args.system_id} (stored encrypted)")
    return 0


def _credentials_map_cert(args: argparse.Namespace) -> int:
    try:
        certificate = x509.load_pem_x509_certificate(_read_file(args.cert))
    except ValueError:
        raise CliError(f"{args.cert}: not a PEM certificate", EXIT_INVALID) from None
    try:
        mapping = _admin(args).map_certificate(args.system_id, certificate)
    except CredentialError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    until = f"{mapping.not_after:%Y-%m-%d}"
    print(f"certificate {mapping.sha256} ({mapping.subject}, valid until {until}) -> {args.system_id}")
    return 0


def _credentials_revoke(args: argparse.Namespace) -> int:
    if not _admin(args).revoke(args.system_id):
        raise CliError(f"{args.system_id} has no credentials", EXIT_INVALID)
    print(f"credentials of {args.system_id} revoked")
    return 0


def _credentials_list(args: argparse.Namespace) -> int:
    for entry in _admin(args).list():
        password = f"password set {entry.password_set_at:%Y-%m-%d %H:%M}" if entry.password_set_at else "no password"
        print(f"{entry.system_id:16} {password}")
        for c in entry.certificates:
            print(f"{'':16} certificate {c.sha256}  {c.subject}  until {c.not_after:%Y-%m-%d}")
    return 0


def add_credentials_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "credentials", help="caller credentials: passwords and client certificates (docs/security.md)"
    )
    sub = group.add_subparsers(dest="action", required=True)
    put = sub.add_parser("set", help="set a system's password (read from standard input)")
    put.add_argument("system_id")
    put.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    partner = sub.add_parser(
        "set-partner", help="the connector's secret at a partner's gateway or the axis (read from standard input)"
    )
    partner.add_argument("system_id")
    partner.add_argument("--secret-stdin", action="store_true", help="read the secret from the first line of stdin")
    listing = sub.add_parser("list", help="systems with credentials (never a secret)")
    revoke = sub.add_parser("revoke", help="remove a system's password and certificate mappings")
    revoke.add_argument("system_id")
    mapping = sub.add_parser("map-cert", help="let a client certificate (PEM) authenticate as a system")
    mapping.add_argument("system_id")
    mapping.add_argument("cert", metavar="CERT.pem")
    for parser, run in (
        (put, _credentials_set),
        (partner, _credentials_set_partner),
        (listing, _credentials_list),
        (revoke, _credentials_revoke),
        (mapping, _credentials_map_cert),
    ):
        add_settings_options(parser)
        parser.set_defaults(run=run)
