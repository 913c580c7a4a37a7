"""The server as one real process (several on one port: ``tests/scale/test_worker_processes.py``):
the demo as a user runs it, a connector killed with SIGKILL while it has deliveries in flight –
nothing lost, nothing delivered twice –, the size cap answered as a fault, and start-up errors
in one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from connector.auth.admin import generate_password
from connector.store import Store
from signing.keys import load_dev_keys
from simulators import guide
from testkit.live import LiveConnector, send_guide_documents
from testkit.net import free_port, wait_until
from testkit.processes import ROOT, set_password, start
from tests.soap.test_guide_cases import DOSSIER


def test_the_demo_plays_both_cases(tmp_path):
    ports = [free_port() for _ in range(3)]
    run = subprocess.run(
        [
            sys.executable,
            "server.py",
            "--demo",
            "--exit-after-demo",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(ports[0]),
            "--demo-ports",
            f"{ports[1]},{ports[2]}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    steps = [
        "sent:",
        "arrived in queue:",
        "registered:",
        "assigned:",
        "issued as 22/CV_LT_MOTCUA",
        "result file in the dossier: 22_CV_LT_MOTCUA.pdf",
        "arrived in drafts:",
        "issued as 23/CV_LT_MOTCUA",
        "result file in the dossier: 23_CV_LT_MOTCUA.pdf",
        "demo complete",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), out
    assert f"http://127.0.0.1:{ports[0]}/soap?wsdl" in out
    assert "Traceback" not in run.stderr
    # The commands the demo prints read the demo's own data, as a user would type them.
    readers = out.split("a first client of your own")[0]
    commands = [
        line.split()[1:] for line in readers.splitlines() if line.startswith("  .venv/bin/python -m connector ")
    ]
    assert [c[2:4] for c in commands] == [["exchange", "show"], ["outbox", "list"], ["keys", "status"]]
    for command in commands:
        typed = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert typed.returncode == 0, typed.stderr
    shown = subprocess.run([sys.executable, *commands[0]], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "[finished]" in shown.stdout and "result 22/CV_LT_MOTCUA" in shown.stdout


def test_sigkill_with_deliveries_in_flight_loses_nothing_and_delivers_nothing_twice(tmp_path):
    port, sim_port = free_port(), free_port()
    data, keys = tmp_path / "data", tmp_path / "data" / "keys"
    directory = json.loads((ROOT / "connector" / "data" / "sample-directory.json").read_text(encoding="utf-8"))
    for system in directory["systems"]:
        if system["system_id"] == "eoffice-stp":
            system["endpoint"] = f"http://127.0.0.1:{sim_port}/soap"
        else:
            system.update(endpoint=None, mode="pull")  # only the document deliveries matter here
    (tmp_path / "directory.json").write_text(json.dumps(directory), encoding="utf-8")
    (tmp_path / "connector.toml").write_text(
        f'data_dir = "{data}"\nport = {port}\ndirectory_file = "{tmp_path / "directory.json"}"\n'
        "[delivery]\npoll_interval = 0.05\nlease_seconds = 1.0\nbackoff_base = 0.2\nbackoff_max = 1.0\n",
        encoding="utf-8",
    )
    connector_args = ["server.py", "--config", str(tmp_path / "connector.toml")]
    passwords = {"igate-hungyen": generate_password(), "eoffice-stp": generate_password()}
    simulator = start(
        [
            "-m",
            "simulators",
            "docmgmt",
            "--port",
            str(sim_port),
            "--connector",
            f"http://127.0.0.1:{port}",
            "--data-dir",
            str(tmp_path / "sim"),
            "--keys-dir",
            str(keys),
        ],
        tmp_path / "sim.log",
        env={"SIM_CONNECTOR_PASSWORD": passwords["eoffice-stp"]},
    )
    connector = start(connector_args, tmp_path / "connector-1.log")
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok, what="the connector")
        wait_until(lambda: requests.get(f"http://127.0.0.1:{sim_port}/", timeout=1).ok, what="the simulator")
        for system_id, password in passwords.items():
            set_password(tmp_path / "connector.toml", system_id, password)
        identity = load_dev_keys(keys).identity(guide.ONESTOP.organ_id)
        client = LiveConnector(f"http://127.0.0.1:{port}", None, keys).client(
            "igate-hungyen", passwords["igate-hungyen"]
        )
        codes = [f"Bo_Thu_Tuc_Cap_Huyen-221126-{n:04d}" for n in range(10, 18)]
        send_guide_documents(client, identity, codes, DOSSIER)

        def queue() -> list[str]:
            return [
                row["abstract"]
                for row in requests.get(f"http://127.0.0.1:{sim_port}/", timeout=5).json()["registration_queue"]
            ]

        wait_until(lambda: queue(), what="the first delivery")
        os.kill(connector.pid, signal.SIGKILL)  # mid-delivery: some items delivered, one leased, the rest waiting
        connector.wait(timeout=10)

        store = Store(f"sqlite:///{data / 'connector.db'}")
        states_at_kill = [i.state for i in store.outbox_items() if i.operation == "deliverDocument"]
        assert len(states_at_kill) == len(codes)  # everything accepted was stored before the receipt
        assert "pending" in states_at_kill  # the kill really interrupted the deliveries
        connector = start(connector_args, tmp_path / "connector-2.log")

        def all_delivered() -> bool:
            return all(i.state == "delivered" for i in store.outbox_items() if i.operation == "deliverDocument")

        wait_until(all_delivered, timeout=60, what="every document delivered after the restart")
        assert sorted(queue()) == sorted(codes)  # each dossier exactly once in the clerk's queue
        store.close()
    finally:
        for process in (connector, simulator):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_real_server_answers_an_oversized_request_with_a_fault(tmp_path):
    """waitress must not answer first with its plain-text 413."""
    port = free_port()
    (tmp_path / "c.toml").write_text(
        f'data_dir = "{tmp_path}"\nport = {port}\nmax_request_bytes = 100000\n', encoding="utf-8"
    )
    server = start(["server.py", "--config", str(tmp_path / "c.toml")], tmp_path / "server.log")
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok, what="the server")
        for size in (150_000, 3_000_000):
            answer = requests.post(
                f"http://127.0.0.1:{port}/soap",
                data=b"<x/>" + b" " * size,
                timeout=30,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "sendDocument"},
            )
            assert answer.status_code == 500 and b"Client.TooLarge" in answer.content
            assert b"limit is 100,000 bytes" in answer.content
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one process", "--workers 2"])
def test_a_taken_port_is_a_one_line_error(tmp_path, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "server.py", "--data-dir", str(tmp_path), "--port", str(port), *workers],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in run.stderr
    assert "worker 0 started" not in run.stderr  # with --workers: before any child starts
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("setting", ["stream_threshold_bytes = -1", "malloc_mmap_threshold = -4096"])
def test_a_negative_size_in_the_settings_is_a_one_line_error_naming_it(tmp_path, setting):
    config = tmp_path / "connector.toml"
    config.write_text(setting + "\n")
    run = subprocess.run(
        [sys.executable, "server.py", "--data-dir", str(tmp_path / "data"), "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    name = setting.split(" =")[0]
    assert run.returncode == 2
    assert f"error: setting '{name}' must not be negative" in run.stderr
    assert "Traceback" not in run.stderr
