"""Metrics across processes (multiprocess mode): a server and a separate delivery worker share
PROMETHEUS_MULTIPROC_DIR; the server's /metrics shows the worker's delivery attempts beside its
own requests, and the outbox state read from the shared database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from connector.auth.admin import generate_password
from connector.edxml import build
from signing import load_dev_keys, sign_package
from simulators import guide
from testkit.live import ONESTOP, LiveConnector
from testkit.net import free_port, new_id, wait_until
from testkit.processes import ROOT, set_password
from tests.ops.conftest import scrape, value
from tests.soap.test_guide_cases import DOSSIER


def test_a_separate_worker_process_is_counted_by_the_servers_metrics(tmp_path):
    port, nobody = free_port(), free_port()  # nothing listens on `nobody`: the partner is down
    data, metrics_dir = tmp_path / "data", tmp_path / "metrics"
    metrics_dir.mkdir()
    directory = json.loads((ROOT / "connector" / "data" / "sample-directory.json").read_text(encoding="utf-8"))
    for system in directory["systems"]:
        system["endpoint"] = f"http://127.0.0.1:{nobody}/soap" if system["system_id"] == "eoffice-stp" else None
    (tmp_path / "directory.json").write_text(json.dumps(directory), encoding="utf-8")
    config = tmp_path / "connector.toml"
    config.write_text(
        f'data_dir = "{data}"\nport = {port}\ndirectory_file = "{tmp_path / "directory.json"}"\n'
        # The first attempt fails at once; the second, 1.5–3 s later, is past the 1.5 s horizon: dead.
        "[delivery]\nenabled = false\npoll_interval = 0.05\nretry_horizon = 1.5\n"
        "backoff_base = 3.0\nbackoff_max = 3.0\n",
        encoding="utf-8",
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    logs = [(tmp_path / name).open("wb") for name in ("server.log", "worker.log")]
    server = subprocess.Popen(
        [sys.executable, "server.py", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: scrape(url), what="the server's metrics")
        worker = subprocess.Popen(
            [sys.executable, "-m", "connector", "worker", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=logs[1],
            stderr=subprocess.STDOUT,
        )
        password = generate_password()
        set_password(config, ONESTOP, password)
        identity = load_dev_keys(data / "keys").identity(guide.ONESTOP.organ_id)
        client = LiveConnector(url, None, data / "keys").client(ONESTOP, password)
        package = sign_package(build(guide.send_package()), identity)
        client.service.sendDocument(
            messageId=new_id(), edxmlPackage=package, kind="INCOMING", senderUsername="cbtiepnhan", dossier=DOSSIER
        )

        def dead_lettered() -> dict | None:
            samples = scrape(url)
            dead = value(samples, "connector_deliveries_total", system_id="eoffice-stp", outcome="dead")
            return samples if dead else None

        samples = wait_until(dead_lettered, what="the worker process to give up on the partner")
        assert value(samples, "connector_delivery_attempts_total", system_id="eoffice-stp", outcome="retry") == 1
        assert value(samples, "connector_delivery_attempts_total", system_id="eoffice-stp", outcome="dead") == 1
        assert value(samples, "connector_requests_total", operation="sendDocument", fault="none") == 1
        assert value(samples, "connector_outbox_items", system_id="eoffice-stp", state="dead") == 1
        # Each process keeps its own files (``counter_<pid>.db``, ...); /metrics adds them up.
        writers = {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("*.db")}
        assert writers == {server.pid, worker.pid}
    finally:
        for process in (worker, server):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in logs:
            log.close()
