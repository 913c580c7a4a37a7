"""docs/integration.md's first steps as a reader types them: commands run from a working
directory holding ``data/`` (no ``--data-dir``), the real server, real keys, a real HTTP POST."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "first-hour-password-1"


def connector(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return python("-m", "connector", *args, cwd=cwd, stdin=stdin, timeout=timeout)


def python(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # `python -m signing` from any directory, as from the root
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env
    )


def start_server(cwd: Path, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "server.py"), *args], cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def wait_for_line(proc: subprocess.Popen, log: Path, text: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(encoding="utf-8", errors="replace")
        if text in out:
            return out
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}):\n{out[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


FIRST_JSON = {
    "type": "document",
    "sender": {"organ_id": "000.00.13.H31", "organ_name": "Trung tâm Phục vụ hành chính công"},
    "recipients": [{"organ_id": "000.00.31.H31", "organ_name": "Sở Tư pháp"}],
    "code": {"number": "02", "notation": "LT_iGate"},
    "subject": "HS-FIRST-0001",
    "promulgation": {"place": "Hưng Yên", "date": "2022/11/26"},
    "document_type": {"type": 1, "type_name": "Công văn"},
    "other": {"priority": 0},
    "traces": [{"organ_id": "000.00.13.H31", "timestamp": "2022/11/26 15:09:15"}],
    "attachments": [{"path": "hoso.pdf", "description": "Thành phần hồ sơ", "encoding": "zip"}],
}


@dataclass
class Answer:
    status: int
    body: str


def envelope(package_b64: str, header: str, message_id: str, dossier_code: str) -> bytes:
    """Section 5's envelope, with the wsse-header output in soap:Header."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>{header}</soap:Header>
  <soap:Body>
    <sendDocument xmlns="urn:vn:lienthong:connector:1">
      <messageId>{message_id}</messageId>
      <edxmlPackage>{package_b64}</edxmlPackage>
      <kind>INCOMING</kind>
      <senderUsername>cbtiepnhan</senderUsername>
      <dossier>
        <dossierCode>{dossier_code}</dossierCode>
        <procedureCode>2.000908.000.00.00.H31</procedureCode>
      </dossier>
    </sendDocument>
  </soap:Body>
</soap:Envelope>""".encode()


def post(url: str, body: bytes) -> Answer:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendDocument"'}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read().decode())


def walk_section_1_and_5(work: Path, url: str, set_password: bool = True) -> None:
    """§1 as written (credentials, build, sign with data/keys/...), then §5 twice with a new
    package each time and a fresh wsse-header: both accepted, no DuplicateMessage."""
    import base64
    import uuid

    if set_password:
        setting = connector("credentials", "set", "igate-hungyen", "--password-stdin", cwd=work, stdin=PASSWORD + "\n")
        assert setting.returncode == 0, setting.stderr
    (work / "hoso.pdf").write_bytes(b"%PDF-1.4\n% the first hour\n%%EOF\n")
    (work / "first.json").write_text(json.dumps(FIRST_JSON, ensure_ascii=False), encoding="utf-8")
    for n in (1, 2):
        built = connector("edxml", "build", "--from-json", "first.json", "--out", "first.edxml", cwd=work)
        assert built.returncode == 0, built.stderr
        signed = python(
            "-m",
            "signing",
            "sign",
            "first.edxml",
            "--out",
            "first.signed.edxml",
            "--key",
            "data/keys/000.00.13.H31.key.pem",
            "--cert",
            "data/keys/000.00.13.H31.cert.pem",
            cwd=work,
        )
        assert signed.returncode == 0, signed.stderr
        header = connector("wsse-header", "igate-hungyen", "--password-stdin", cwd=work, stdin=PASSWORD + "\n")
        assert header.returncode == 0, header.stderr
        package = base64.b64encode((work / "first.signed.edxml").read_bytes()).decode()
        answer = post(f"{url}/soap", envelope(package, header.stdout.strip(), str(uuid.uuid4()), "HS-FIRST-0001"))
        assert answer.status == 200, (n, answer.body)
        assert "accepted" in answer.body, answer.body
    assert not (work / "data" / "demo" / "connector.db").exists()
