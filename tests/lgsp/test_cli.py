"""The command lines: both simulators as real processes (python -m simulators gateway|axis), and
the operator's ``credentials set-partner``."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connector.auth.secretbox import SecretBox
from connector.config import load_settings
from connector.delivery.vxp import AxisClient, AxisError
from connector.exchange.directory import Directory, PartnerAuth, PartnerAuthType
from connector.serving.runtime import open_store
from connector.store import CredentialStore

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def run():
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulators", *args], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_the_gateway_simulator_runs_alone(run, tmp_path):
    port, jwks = free_port(), tmp_path / "jwks.json"
    process = run(
        "gateway", "--port", str(port), "--upstream", "http://127.0.0.1:9", "--client", "app:app-secret:MyApp",
        "--token-ttl", "60", "--throttle", "2", "--throttle-code", "900807", "--jwks-out", str(jwks),
    )  # fmt: skip
    wait_for(port, process)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    assert (
        session.post(f"{base}/token", data={"grant_type": "client_credentials"}, auth=("app", "wrong")).status_code
        == 401
    )
    answer = session.post(f"{base}/token", data={"grant_type": "client_credentials"}, auth=("app", "app-secret")).json()
    assert answer["expires_in"] == 60 and answer["token_type"] == "Bearer"
    missing = session.post(f"{base}/soap", data=b"<x/>")
    assert missing.status_code == 401 and missing.json()["fault"]["code"] == 900902
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    first = session.post(f"{base}/soap", data=b"<x/>", headers=bearer)
    assert first.status_code == 502  # authorised, forwarded, nobody upstream
    second = session.post(f"{base}/soap", data=b"<x/>", headers=bearer)
    assert second.status_code == 429 and second.json()["fault"]["code"] == 900807
    assert json.loads(jwks.read_text()) == session.get(f"{base}/jwks").json()


def test_the_axis_simulator_runs_alone(run):
    port = free_port()
    process = run(
        "axis", "--port", str(port), "--system", "a.sys:key-a:000.00.13.H31", "--system", "b.sys:key-b:000.00.31.H31"
    )
    wait_for(port, process)
    base = f"http://127.0.0.1:{port}"
    doc_id = AxisClient(base, "a.sys", "key-a").send_edoc("000.00.31.H31", "edoc", b"<edXML/>")
    assert [e.doc_id for e in AxisClient(base, "b.sys", "key-b").received()] == [doc_id]
    with pytest.raises(AxisError) as refused:
        AxisClient(base, "b.sys", "key-a").received()
    assert refused.value.code == "INVALID_HASH"


def test_set_partner_stores_the_secret_sealed(tmp_path):
    settings = load_settings(None, environ={}, data_dir=tmp_path, auto_migrate="always")
    store = open_store(settings)
    system = dataclasses.replace(
        store.system("eoffice-stp"),
        auth=PartnerAuth(PartnerAuthType.OAUTH2, token_url="https://lgsp.example/token", client_id="c"),
    )
    store.import_directory(Directory(systems=[system]))
    store.close()

    def cli(*args: str, secret: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "connector", "credentials", *args, "--data-dir", str(tmp_path)],
            cwd=ROOT, input=secret + "\n", capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip

    done = cli("set-partner", "eoffice-stp", "--secret-stdin", secret="the-client-secret")
    assert done.returncode == 0, done.stderr
    assert "the-client-secret" not in done.stdout + done.stderr
    assert cli("set-partner", "eoffice-stp").returncode != 0  # never as an argument
    refused = cli("set-partner", "igate-hungyen", "--secret-stdin", secret="x")
    assert refused.returncode != 0 and "no auth" in refused.stderr
    store = open_store(settings, seed=False)
    sealed = CredentialStore(store).sealed_partner_secret("eoffice-stp")
    assert b"the-client-secret" not in sealed
    assert SecretBox.load(settings.effective_secret_key_file, environ={}).open(sealed) == "the-client-secret"
    store.close()
