"""The operator's first run, as typed: read-only commands never create a database, ``db upgrade``
and ``db current`` on a released database, ``keys status``, PostgreSQL left to its operator, a
plain connector with no partner endpoints, and the compatibility checks outside and under CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connector.config import load_settings
from connector.serving.runtime import build_runtime
from connector.store import MigrationError
from testkit.processes import ROOT
from tests.cli.test_edxml_cli import run
from tests.ops.conftest import expired_identity
from tests.store.test_migrations import released_database

READ_ONLY = [
    ["db", "current"],
    ["directory", "list"],
    ["outbox", "list"],
    ["exchange", "show", "X"],
    ["keys", "status"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(tmp_path, command):
    data = tmp_path / "data"
    result = run(*command, "--data-dir", str(data))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert not data.exists()


def test_db_current_and_upgrade_on_a_database_of_the_first_release(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    released_database(f"sqlite:///{data / 'connector.db'}")
    where = ("--data-dir", str(data))

    current = run("db", "current", *where)
    assert current.returncode == 1 and "the released schema, without a revision" in current.stdout
    refused = run("exchange", "show", "D-1", *where)  # reads need the schema this version knows
    assert refused.returncode == 2 and "run `python -m connector db upgrade`" in refused.stderr

    upgraded = run("db", "upgrade", *where)
    assert upgraded.returncode == 0 and "recognised the released schema" in upgraded.stdout, upgraded.stderr
    shown = run("exchange", "show", "D-1", *where)
    assert shown.returncode == 0 and "Exchange m-1  [arrived]" in shown.stdout


def test_postgresql_is_migrated_by_its_operator_unless_configured(tmp_path, postgres_url):
    settings = load_settings(None, environ={}, data_dir=tmp_path / "data", database_url=postgres_url)
    with pytest.raises(MigrationError, match="run `python -m connector db upgrade`"):
        build_runtime(settings)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"CONNECTOR_DATABASE_URL": postgres_url}
    upgrade = subprocess.run(
        [sys.executable, "-m", "connector", "db", "upgrade"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0 and "upgraded from an empty database to" in upgrade.stdout, upgrade.stderr
    assert not (tmp_path / "data").exists()  # nothing made on disk for a PostgreSQL store
    build_runtime(settings).close()


def test_keys_status_lists_the_identity_and_the_trust_anchors(tmp_path):
    data = tmp_path / "data"
    build_runtime(load_settings(None, environ={}, data_dir=data)).close()
    status = run("keys", "status", "--data-dir", str(data))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("identity        ok ") and lines[1].startswith("trust           ok ")
    listing = json.loads(run("keys", "status", "--json", "--data-dir", str(data)).stdout)
    assert [(c["role"], c["state"]) for c in listing] == [("identity", "ok"), ("trust", "ok")]
    assert 700 < listing[0]["days_left"] <= 731

    identity = expired_identity(data / "keys", tmp_path / "expired")
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{data}"\n' + "".join(f'{k} = "{v}"\n' for k, v in identity.items()), "utf-8")
    expired = run("keys", "status", "--config", str(config))
    assert expired.returncode == 1 and expired.stdout.startswith("identity        expired ")


def test_a_plain_connector_has_no_partner_endpoints_until_its_operator_sets_them(tmp_path):
    runtime = build_runtime(load_settings(None, environ={}, data_dir=tmp_path / "data"))
    try:
        systems = runtime.store.directory().systems
        assert systems and all(s.endpoint is None for s in systems)
    finally:
        runtime.close()


def test_compatibility_checks_are_skipped_clearly_and_required_under_ci(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYENV_ROOT": str(tmp_path)}
    skipped = subprocess.run(
        [str(ROOT / ".ci" / "compat"), "3.99"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert skipped.returncode == 0
    assert "compat: SKIPPED the Python 3.99 compatibility checks: not installed under pyenv" in skipped.stdout
    required = subprocess.run(
        [str(ROOT / ".ci" / "compat"), "3.99"],
        cwd=ROOT,
        env=env | {"CI": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert required.returncode == 1 and "CI requires it" in required.stderr
