"""``python -m connector backup --out FILE`` and ``restore FILE`` (docs/operations.md,
"Backup and restore"; docs/upgrading.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of
from connector.ops.backup import BackupError, restore_backup, write_backup


def _backup(args: argparse.Namespace) -> int:
    try:
        report = write_backup(settings_of(args), args.out)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {report.path}: {len(report.files)} files (database: {report.database})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        report = restore_backup(settings, args.file)
    except BackupError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    print(f"restored {len(report.files)} files into {settings.data_dir} (database: {report.database})")
    print("next: python -m connector db current; python -m connector evidence verify (same --data-dir/--config)")
    return 0


def add_backup_commands(commands: argparse._SubParsersAction) -> None:
    backup = commands.add_parser(
        "backup",
        help="one archive of the database (online, consistent) and the key material",
        description="Writes a .tar.gz with a consistent online copy of the SQLite database (sqlite3's "
        "backup API: safe while the server runs), secret.key and the keys directory, with SHA-256 "
        "digests. With PostgreSQL it holds the key material only: back the database up with pg_dump.",
    )
    backup.add_argument("--out", type=Path, required=True, metavar="FILE")
    add_settings_options(backup)
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="restore a backup into a new data directory (never overwrites)")
    restore.add_argument("file", type=Path, metavar="FILE")
    add_settings_options(restore)
    restore.set_defaults(run=_restore)
