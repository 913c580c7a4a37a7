"""What every command group of ``python -m connector`` shares: the one-line error, the exit
codes and the settings options."""

from __future__ import annotations

import argparse
from pathlib import Path

from connector.config import ConfigError, Settings, load_settings

EXIT_INVALID = 1
EXIT_USAGE = 2


class CliError(Exception):
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
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./data; the demo's: data/demo)")
