"""``backup --out FILE`` while the server runs, ``restore FILE`` into a new data directory:
the evidence chain verifies there (signed heads included) and the restored secret key still
opens the stored passwords (a send authenticates against the restored server)."""

from __future__ import annotations

import tarfile

from tests.firsthour.walk import connector, start_server, stop, wait_for_line, walk_section_1_and_5
from tests.partners.test_delivery_failures import free_port


def test_backup_of_a_running_server_restores_into_a_new_data_directory(tmp_path):
    port = free_port()
    proc = start_server(tmp_path, tmp_path / "server.log", "--port", str(port))
    try:
        wait_for_line(proc, tmp_path / "server.log", "listening on")
        walk_section_1_and_5(tmp_path, f"http://127.0.0.1:{port}")
        signed = connector("evidence", "sign", cwd=tmp_path)
        assert signed.returncode == 0, signed.stderr
        backup = connector("backup", "--out", "connector-backup.tar.gz", cwd=tmp_path)  # online: the server runs
        assert backup.returncode == 0, backup.stderr
    finally:
        stop(proc)
    with tarfile.open(tmp_path / "connector-backup.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"MANIFEST.json", "connector.db", "secret.key", "keys/ca.pem", "keys/000.00.13.H31.key.pem"} <= names
    assert (tmp_path / "connector-backup.tar.gz").stat().st_mode & 0o077 == 0

    restored = tmp_path / "restored"
    result = connector("restore", "connector-backup.tar.gz", "--data-dir", str(restored), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    verify = connector("evidence", "verify", "--data-dir", str(restored), cwd=tmp_path)
    assert verify.returncode == 0 and verify.stdout.startswith("OK:"), verify.stdout + verify.stderr
    assert "0 signed heads" not in verify.stdout
    again = connector("restore", "connector-backup.tar.gz", "--data-dir", str(restored), cwd=tmp_path)
    assert again.returncode == 1 and "will not overwrite" in again.stderr

    # The restored connector serves with the restored keys and secret: the same password works.
    work = tmp_path / "again"
    work.mkdir()
    (work / "data").symlink_to(restored)
    port = free_port()
    proc = start_server(work, work / "server.log", "--port", str(port))
    try:
        wait_for_line(proc, work / "server.log", "listening on")
        walk_section_1_and_5(work, f"http://127.0.0.1:{port}", set_password=False)
    finally:
        stop(proc)


def test_a_damaged_archive_is_refused(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as archive:
        archive.add(__file__, arcname="../escape.py")
    result = connector("restore", str(bad), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 1 and "unexpected member '../escape.py'" in result.stderr
    assert not (tmp_path / "d").exists() and not (tmp_path / "escape.py").exists()
