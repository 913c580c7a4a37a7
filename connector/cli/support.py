"""What every command group of ``python -m connector`` shares: the one-line error, the exit
codes and the settings options."""

from __future__ import annotations

import argparse
from pathlib import Path

from connector.config import ConfigError, Settings, load_settings
from connector.errors import SimpleError
from connector.serving.runtime import open_existing_store, open_store
from connector.store import Store

EXIT_INVALID = 1
EXIT_USAGE = 2


class CliError(SimpleError):
    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings_of(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config, data_dir=args.data_dir)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (docs/operations.md)")
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./data, as the server and the demo)")


def store_of(args: argparse.Namespace, write: bool = False) -> Store:
    """Commands that change something open the store as the server does (migrated when
    ``auto_migrate`` says so, created if new); commands that only read never create one."""
    settings = settings_of(args)
    return open_store(settings, seed=False) if write else open_existing_store(settings)


def read_input(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path!r}: {exc.strerror}") from None
