"""Issue 22, item 4: with the data directory's disk full, readiness fails and says why, and a
request that only reads (``getStatus``) keeps working; writes fail with the stable sentence. A
real ``server.py`` on a small tmpfs that the test fills (needs root to mount; skipped otherwise)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import zeep

from tests.badday.processes import ConnectorProcess, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as out:  # until ENOSPC
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def test_a_full_disk_fails_readiness_and_reads_keep_working(tmp_path, small_disk):
    connector = ConnectorProcess(
        tmp_path / "connector", config_lines="min_free_disk_bytes = 2097152", data_dir=small_disk
    )  # the log stays in tmp_path, off the small disk
    try:
        connector.start()
        connector.credentials()
        [code] = connector.send(1)
        client = connector.client()
        assert client.service.getStatus(dossierCode=code) is not None
        assert connector.get("/health/ready").status_code == 200

        with sqlite3.connect(small_disk / "connector.db") as db:  # the WAL's space goes back to the disk
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(small_disk)
        answer = connector.get("/health/ready", timeout=10)
        assert answer.status_code == 503
        body = answer.json()
        assert "storage" in body["failing"], body
        assert "bytes free, under min_free_disk_bytes" in body["checks"]["storage"]["detail"]
        assert "database" in body["failing"] and "full" in body["checks"]["database"]["detail"], body

        status = client.service.getStatus(dossierCode=code)  # reads need no write: still answered
        assert status is not None
        with pytest.raises(zeep.exceptions.Fault) as caught:
            connector.send(1, first=20)
        assert caught.value.message == (
            "the exchange store is unavailable; nothing was stored. Retry later with the same message id."
        )

        filler.unlink()
        wait_until(lambda: connector.get("/health/ready").status_code == 200, what="ready again")
        connector.send(1, first=21)
    finally:
        connector.stop()
