"""Operator commands for the schema and the keys: ``db upgrade``, ``db current``, ``keys status``.

``db current`` and ``keys status`` only read: they never create a database, a data directory or
development keys.
"""

from __future__ import annotations

import argparse
import json

from sqlalchemy.exc import OperationalError

from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of
from connector.clock import utcnow
from connector.config import Settings
from connector.ops.certificates import CertificateStatus, CertState, certificates
from connector.serving.runtime import connector_identity, existing_database_url
from connector.store import Store, head_revision, schema_state, upgrade_schema
from signing import KeyMaterialError, VerificationPolicy, load_dev_keys


def _db_upgrade(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.effective_database_url)
    try:
        before = upgrade_schema(store.engine)
        after = schema_state(store.engine).current
    except OperationalError as exc:
        raise CliError(f"the database cannot be reached: {' '.join(str(exc.orig).split())}") from None
    finally:
        store.close()
    if before.current == after:
        print(f"the database is at {after} (head): nothing to do")
    elif before.released_unversioned:
        print(f"recognised the released schema (no revision yet); upgraded to {after}")
    else:
        print(f"upgraded from {before.current or 'an empty database'} to {after}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    store = Store(existing_database_url(settings_of(args)))
    try:
        state = schema_state(store.engine)
    finally:
        store.close()
    if state.up_to_date:
        print(f"{state.current} (head)")
        return 0
    where = "the released schema, without a revision" if state.released_unversioned else state.current or "empty"
    print(f"{where}; this version needs {head_revision()}: run `python -m connector db upgrade`")
    return EXIT_INVALID


def add_db_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("db", help="the store's schema (Alembic migrations)")
    sub = group.add_subparsers(dest="action", required=True)
    up = sub.add_parser("upgrade", help="bring the schema to this version's head revision")
    add_settings_options(up)
    up.set_defaults(run=_db_upgrade)
    current = sub.add_parser("current", help="the database's revision; exit 1 when it needs an upgrade")
    add_settings_options(current)
    current.set_defaults(run=_db_current)


def configured_certificates(settings: Settings) -> list[CertificateStatus]:
    """The connector's identity (with its chain) and trust anchors as configured, read without
    creating anything: configured files, or the development key set the server made."""
    try:
        dev_keys = None if settings.trust else load_dev_keys(settings.effective_keys_dir)
        identity = connector_identity(settings, dev_keys)
        anchor_files = list(settings.trust) if settings.trust else [dev_keys.ca_path]  # type: ignore[union-attr]
        anchors = VerificationPolicy.from_paths(trust=anchor_files).trust_anchors
    except (KeyMaterialError, ValueError, OSError) as exc:
        raise CliError(f"cannot read the keys: {' '.join(str(exc).split())}") from None
    return certificates(identity, anchors)


def _keys_status(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    now = utcnow()
    certs = configured_certificates(settings)
    warning = settings.certificate_warning_days
    rows = [(c, c.state(now, warning)) for c in certs]
    if args.json:
        listing = [
            {
                "role": c.role,
                "state": state,
                "subject": c.subject,
                "sha256": c.sha256,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "days_left": round(c.days_left(now), 1),
            }
            for c, state in rows
        ]
        print(json.dumps(listing, ensure_ascii=False, indent=2, default=str))
    else:
        for c, state in rows:
            print(
                f"{c.role:15} {state:13} until {c.not_after:%Y-%m-%d} ({c.days_left(now):6.0f} days)  "
                f"{c.subject}  sha256 {c.sha256[:16]}"
            )
        print(f"(warning window: {warning} days; certificate_warning_days in the settings)")
    unusable = {CertState.EXPIRED, CertState.NOT_YET_VALID}
    return EXIT_INVALID if any(state in unusable for _, state in rows) else 0


def add_keys_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="the connector's certificates and trust anchors")
    sub = group.add_subparsers(dest="action", required=True)
    status = sub.add_parser("status", help="each certificate with its expiry; exit 1 when one is expired")
    status.add_argument("--json", action="store_true")
    add_settings_options(status)
    status.set_defaults(run=_keys_status)
