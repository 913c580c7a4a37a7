"""The evidence keys (docs/evidence.md, "The evidence key"): made on first run outside the
database, rotated with ``evidence rotate-key``, every older key kept to check older records."""

from __future__ import annotations

import sqlite3
import stat

from connector.clock import utcnow
from tests.evidence.conftest import make_runtime, play_guide
from tests.evidence.test_chain import evidence_cli


def test_keys_are_made_on_first_run_and_rotated(tmp_path):
    runtime = make_runtime(tmp_path)
    play_guide(runtime)
    runtime.close()
    keys = tmp_path / "evidence-keys"
    assert [p.name for p in keys.iterdir()] == ["0001.key"]
    assert stat.S_IMODE((keys / "0001.key").stat().st_mode) == 0o600
    assert len(bytes.fromhex((keys / "0001.key").read_text().strip())) == 32

    result = evidence_cli(tmp_path, "rotate-key")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"evidence key 2 added in {keys}; restart every connector process")
    runtime = make_runtime(tmp_path)  # a restarted process uses the new key
    runtime.store.evidence.record_action("admin:an", utcnow(), {"action": "after rotation"})
    runtime.close()
    with sqlite3.connect(tmp_path / "connector.db") as db:
        assert db.execute("SELECT DISTINCT mac_key FROM evidence ORDER BY mac_key").fetchall() == [(1,), (2,)]
        assert db.execute("SELECT mac_key FROM evidence_head").fetchall() == [(2,)]
    result = evidence_cli(tmp_path, "verify")
    assert result.returncode == 0, result.stdout + result.stderr

    # An older key removed: the records it authenticated can no longer be checked, and say so.
    (keys / "0001.key").unlink()
    result = evidence_cli(tmp_path, "verify")
    assert result.stdout == "BROKEN: record 1: names evidence key 1, which the key ring does not hold\n"


def test_verify_refuses_to_run_without_the_keys(tmp_path):
    runtime = make_runtime(tmp_path)
    runtime.close()
    (tmp_path / "evidence-keys" / "0001.key").unlink()
    result = evidence_cli(tmp_path, "verify")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no evidence keys in {tmp_path / 'evidence-keys'}"), result.stderr
