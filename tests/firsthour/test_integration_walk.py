"""docs/integration.md §1 and §5 walked both ways the guide names: ``make run`` (server.py
--demo) and ``.venv/bin/python server.py``, with the commands exactly as written (no
``--data-dir``: they run in a directory whose ``data/`` the server uses)."""

from __future__ import annotations

from tests.firsthour.walk import connector, start_server, stop, wait_for_line, walk_section_1_and_5
from tests.partners.test_delivery_failures import free_port


def test_section_1_after_server_py(tmp_path):
    port = free_port()
    proc = start_server(tmp_path, tmp_path / "server.log", "--port", str(port))
    try:
        wait_for_line(proc, tmp_path / "server.log", "listening on")
        walk_section_1_and_5(tmp_path, f"http://127.0.0.1:{port}")
    finally:
        stop(proc)


def test_section_1_after_make_run(tmp_path):
    ports = [free_port() for _ in range(3)]
    log = tmp_path / "demo.log"
    proc = start_server(tmp_path, log, "--demo", "--port", str(ports[0]), "--demo-ports", f"{ports[1]},{ports[2]}")
    try:
        out = wait_for_line(proc, log, "still serving")
        # The demo prints the first client's commands, ready to paste, with the data directory's keys.
        assert "credentials set igate-hungyen --password-stdin\n" in out
        assert "--key data/keys/000.00.13.H31.key.pem --cert data/keys/000.00.13.H31.cert.pem" in out
        assert "connector wsse-header igate-hungyen --password-stdin" in out
        assert "without partner endpoints" not in out
        walk_section_1_and_5(tmp_path, f"http://127.0.0.1:{ports[0]}")
        # The demo's delivered items show when they were done, not a future next attempt.
        listing = connector("outbox", "list", cwd=tmp_path)
        delivered = [line for line in listing.stdout.splitlines() if " delivered " in line]
        assert delivered and not [line for line in delivered if "next=" in line], listing.stdout
    finally:
        stop(proc)
