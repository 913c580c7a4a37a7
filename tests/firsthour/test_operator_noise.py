"""What an operator sees of a plain start: in JSON mode every line is JSON (the "listening on"
line included), no Alembic chatter per start or per /health/ready, and /health/ready says 503
within about two seconds while another process holds SQLite's write lock."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request

from tests.firsthour.walk import start_server, stop, wait_for_line
from tests.partners.test_delivery_failures import free_port


def get(url: str, timeout: float = 60) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_json_mode_lines_alembic_quiet_and_a_locked_database_is_503_quickly(tmp_path):
    port = free_port()
    config = tmp_path / "connector.toml"
    config.write_text('log_format = "json"\n')
    log = tmp_path / "server.log"
    proc = start_server(tmp_path, log, "--port", str(port), "--config", str(config))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_line(proc, log, "listening on")
        for _ in range(3):
            assert get(f"{base}/health/ready") == 200
        lock = sqlite3.connect(tmp_path / "data" / "connector.db", timeout=1)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            assert get(f"{base}/health/ready") == 503
            assert time.monotonic() - started < 5
        finally:
            lock.rollback()
            lock.close()
        assert get(f"{base}/health/ready") == 200
    finally:
        stop(proc)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert any("connector listening on" in r["message"] for r in records)
    assert not [r for r in records if r["logger"].startswith("alembic")], lines
