"""Several processes on one port, for real: ``server.py --workers 2`` (its children share the
parent's socket and one metrics directory; a child killed with SIGKILL is restarted) and gunicorn
serving ``connector.wsgi:application``. Both answer a signed sendDocument from a zeep client.
(One process, as a user runs it: ``tests/test_server_runs.py``.)"""

from __future__ import annotations

import re
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from connector.auth.admin import generate_password
from connector.edxml import build
from signing import load_dev_keys, sign_package
from simulators import guide
from testkit.live import ONESTOP, LiveConnector
from testkit.net import free_port, new_id, wait_until
from testkit.processes import set_password, start, stop
from tests.ops.conftest import scrape, value
from tests.soap.test_guide_cases import DOSSIER

STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")
SERVING = re.compile(r"worker process (\d+) serving")


def poke(url: str) -> int:
    """One SOAP request on a connection of its own (a refused one: it is counted all the same)."""
    with requests.Session() as session:
        session.trust_env = False
        answer = session.post(f"{url}/soap", data=b"<x/>", headers={"Content-Type": "text/xml"}, timeout=30)
    return answer.status_code


def pids_that_served(metrics_dir: Path) -> set[int]:
    """prometheus-client's multiprocess mode keeps one ``counter_<pid>.db`` per process that counted."""
    return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("counter_*.db")}


def children(log: Path) -> dict[int, int]:
    """slot -> pid of the children the supervisor started, the latest per slot."""
    return {int(slot): int(pid) for slot, pid in STARTED.findall(log.read_text(encoding="utf-8", errors="replace"))}


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by whoever adopted it, maybe late)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def serving(log: Path) -> set[int]:
    """The children that are serving (built their runtime and accept on the socket)."""
    return {int(pid) for pid in SERVING.findall(log.read_text(encoding="utf-8", errors="replace"))}


def signed_send(url: str, config: Path, keys: Path) -> None:
    password = generate_password()
    set_password(config, ONESTOP, password)
    client = LiveConnector(url, None, keys).client(ONESTOP, password)
    package = sign_package(build(guide.send_package()), load_dev_keys(keys).identity(guide.ONESTOP.organ_id))
    receipt = client.service.sendDocument(
        messageId=new_id(), edxmlPackage=package, kind="INCOMING", senderUsername="cbtiepnhan", dossier=DOSSIER
    )
    assert receipt.state == "accepted"


def serve_until(url: str, metrics_dir: Path, wanted: set[int], limit: int = 400) -> int:
    """Requests from 8 threads, each on a new connection, until every pid in ``wanted`` served
    one; returns how many were sent."""
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while not wanted <= pids_that_served(metrics_dir) and sent < limit:
            assert set(pool.map(poke, [url] * 16)) == {500}
            sent += 16
    assert wanted <= pids_that_served(metrics_dir), f"{sent} requests never reached {wanted}"
    return sent


def schema_refusals_counted(url: str) -> float:
    """What /metrics counts of the requests refused as Client.SchemaInvalid (what ``poke`` sends)."""
    return value(scrape(url), "connector_requests_total", operation="unknown", fault="Client.SchemaInvalid")


def test_two_worker_processes_share_one_port_and_a_killed_one_comes_back(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    config = tmp_path / "connector.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nport = {port}\n', encoding="utf-8")
    log = tmp_path / "server.log"
    parent = start(
        ["server.py", "--config", str(config), "--workers", "2", "--threads", "4"],
        log,
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    try:
        wait_until(lambda: len(children(log)) == 2 and serving(log) >= set(children(log).values()), what="two children")
        first = children(log)
        assert parent.pid not in first.values()
        # Both children accept on the one socket, and /metrics on whichever child answers adds
        # up every child's counts.
        sent = serve_until(url, metrics_dir, set(first.values()))
        assert schema_refusals_counted(url) == sent
        signed_send(url, config, tmp_path / "data" / "keys")

        victim = first[1]
        subprocess.run(["kill", "-KILL", str(victim)], check=True)
        wait_until(lambda: children(log)[1] != victim, what="the killed child's restart")
        assert f"worker 1 (pid {victim}) exited with signal SIGKILL; restarting it" in log.read_text(encoding="utf-8")
        second = children(log)
        assert second[0] == first[0] and parent.poll() is None
        wait_until(lambda: second[1] in serving(log), what="the new child serving")
        sent += serve_until(url, metrics_dir, {second[1]})
        # The killed child's counts stay in the sum (its files remain): counters never go back.
        assert schema_refusals_counted(url) == sent
    finally:
        code = stop(parent)
    assert code == 0
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text, text[-3000:]
    assert not any(running(pid) for pid in children(log).values())  # every child ended with its parent


def test_gunicorn_serves_the_wsgi_application(tmp_path):
    pytest.importorskip("gunicorn", reason="gunicorn is a development dependency (requirements-dev.txt)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    config = tmp_path / "connector.toml"
    config.write_text(f'data_dir = "{data}"\npublic_url = "{url}"\n', encoding="utf-8")
    log = tmp_path / "gunicorn.log"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = start(
        [
            "-m",
            "gunicorn",
            "connector.wsgi:application",
            "--no-control-socket",  # gunicorn's admin socket would go to ~/.gunicorn
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
        ],
        log,
        # Each worker process migrates (serialised by the lock) and makes its runtime itself.
        env={"CONNECTOR_CONFIG": str(config), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=1).ok, timeout=60, what="gunicorn")
        wsdl = requests.get(f"{url}/soap?wsdl", timeout=10).text
        assert f'location="{url}/soap"' in wsdl  # public_url from CONNECTOR_CONFIG's file
        signed_send(url, config, data / "keys")
        assert value(scrape(url), "connector_requests_total", operation="sendDocument", fault="none") == 1
    finally:
        stop(server)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert text.count("Booting worker") >= 2


def test_gunicorn_preload_is_refused_with_the_reason(tmp_path):
    """Workers forked from a master that loaded the application would share its database
    connections and lack its threads: they exit at once, and gunicorn stops."""
    pytest.importorskip("gunicorn", reason="gunicorn is a development dependency (requirements-dev.txt)")
    config = tmp_path / "connector.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nevidence_sign_interval = 0\n', encoding="utf-8")
    log = tmp_path / "gunicorn.log"
    server = start(
        ["-m", "gunicorn", "--preload", "--no-control-socket", "--workers", "2", "--bind", f"127.0.0.1:{free_port()}"]
        + ["connector.wsgi:application"],
        log,
        env={"CONNECTOR_CONFIG": str(config), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
    )
    try:
        assert server.wait(timeout=90) != 0
    finally:
        if server.poll() is None:
            server.kill()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "each worker process must load it itself" in text
    assert "Worker failed to boot" in text


def test_children_stop_when_their_parent_is_killed(tmp_path):
    """Orphans would hold the port: a restarted parent could not bind it."""
    port = free_port()
    log = tmp_path / "server.log"
    parent = start(["server.py", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--workers", "2"], log)
    try:
        wait_until(lambda: len(serving(log)) == 2, 60, "two children")
        pids = set(children(log).values())
        parent.kill()
        parent.wait(timeout=10)
        wait_until(lambda: not any(running(pid) for pid in pids), 60, "the children to stop")
        with socket.socket() as again:  # the port is free again
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", port))
    finally:
        if parent.poll() is None:
            parent.kill()
