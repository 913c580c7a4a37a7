"""One large sendDocument in-process: spyne's path against the streaming path, stage by stage.

The same connector (SQLite in a temporary directory, development keys, delivery off) answers
through two ``ConnectorApp``s: one that gives every body to spyne whole, one that hollows bodies
from 0 bytes on (``connector/soap/streaming.py``). Each request's body is a file, as waitress
hands over a spooled one; requests alternate between the two so machine load hits both alike.
Per request: seconds, the stage timings the service records, and the peak RSS growth
(``VmHWM`` after writing 5 to ``/proc/self/clear_refs``, over ``VmRSS`` before) in copies of the
package. Then the stages alone: reading the envelope (spyne's hardened parse and strict base64
decode, or ``streaming.hollow``), signature verification, edXML validation. Prints only.

    .venv/bin/python bench/bench_large.py [--size-mb 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gc
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import MiB, machine, markdown_table

from connector.auth.admin import CredentialAdmin, generate_password
from connector.auth.wsse import WSSE, WSU, PasswordType
from connector.config import load_settings
from connector.edxml import ParseLimits, build, parse_xml, strict_b64decode
from connector.exchange.pipeline import validate_package, verify_signature
from connector.ops.logs import ENVIRON_KEY
from connector.serving import memory
from connector.serving.app import ConnectorApp
from connector.serving.runtime import Runtime, build_runtime
from connector.soap import streaming
from signing import sign_package
from simulators import guide

ROOT = Path(__file__).resolve().parents[1]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:vn:lienthong:connector:1"
STATUS = Path("/proc/self/status")


def _status(key: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def peak_of(operation: Callable[[], Any]) -> tuple[Any, float, int]:
    """The result, seconds, and peak RSS growth in bytes of one call."""
    gc.collect()
    memory.trim()
    base = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    result = operation()
    return result, time.perf_counter() - started, _status("VmHWM") - base


ONESTOP_SYSTEM = "igate-hungyen"  # the one-stop system of the guide's sample directory


class Sender:
    """Signed packages and authenticated envelopes from the guide's one-stop system."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.password = generate_password()
        CredentialAdmin(runtime.store, runtime.authenticator.box).set_password(ONESTOP_SYSTEM, self.password)

    def header(self) -> str:
        nonce, created = os.urandom(16), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()).decode()
        return (
            f'<w:Security xmlns:w="{WSSE}" xmlns:u="{WSU}"><w:UsernameToken>'
            f"<w:Username>{ONESTOP_SYSTEM}</w:Username>"
            f'<w:Password Type="{PasswordType.DIGEST.value}">{digest}</w:Password>'
            f"<w:Nonce>{base64.b64encode(nonce).decode()}</w:Nonce><u:Created>{created}</u:Created>"
            "</w:UsernameToken></w:Security>"
        )

    def send(self, padding: int) -> tuple[bytes, bytes]:
        """A fresh dossier's signed package and its sendDocument envelope."""
        dossier = guide.Dossier(f"LARGE-{uuid.uuid4().hex[:10]}", "1948087", "Nguyễn Văn An", "cbtiepnhan")
        identity = self.runtime.dev_keys.identity(guide.ONESTOP.organ_id)
        package = sign_package(build(guide.send_package(dossier, padding=padding)), identity)
        envelope = (
            f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="{TNS}">'
            f"<soap:Header>{self.header()}</soap:Header><soap:Body><c:sendDocument>"
            f"<c:messageId>{uuid.uuid4()}</c:messageId><c:edxmlPackage>{base64.b64encode(package).decode()}"
            f"</c:edxmlPackage><c:kind>INCOMING</c:kind><c:senderUsername>cbtiepnhan</c:senderUsername><c:dossier>"
            f"<c:dossierCode>{dossier.code}</c:dossierCode><c:procedureCode>{guide.PROCEDURE_CODE}</c:procedureCode>"
            f"<c:onestopNumber>{dossier.onestop_number}</c:onestopNumber></c:dossier></c:sendDocument>"
            "</soap:Body></soap:Envelope>"
        ).encode()
        return package, envelope


def post(app: ConnectorApp, body: bytes) -> tuple[dict[str, float], float, int]:
    """One request whose body is a temporary file: stage seconds, seconds, peak growth."""
    with tempfile.TemporaryFile() as stream:
        stream.write(body)
        stream.seek(0)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/soap",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "text/xml; charset=utf-8",
            "HTTP_SOAPACTION": '""',
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "wsgi.url_scheme": "http",
            "wsgi.input": stream,
        }
        status: list[str] = []
        answer, seconds, peak = peak_of(lambda: b"".join(app(environ, lambda s, h, e=None: status.append(s))))
    if not status[0].startswith("200"):
        raise SystemExit(f"the send was refused: {answer[:600]!r}")
    stages = dict(environ[ENVIRON_KEY].timings.seconds)
    stages["soap (the rest)"] = seconds - sum(stages.values())
    return stages, seconds, peak


def stages_alone(runtime: Runtime, sender: Sender, padding: int) -> list[tuple[str, float, float]]:
    """Each stage on its own: (name, seconds, peak growth in packages)."""
    package, body = sender.send(padding)
    size = len(package)
    limits = ParseLimits(max_bytes=runtime.settings.max_request_bytes)
    config = runtime.service.config
    rows = []

    def spyne_read() -> bytes:
        envelope = parse_xml(body, limits).getroot()
        return strict_b64decode(envelope.find(f".//{{{TNS}}}edxmlPackage").text)

    with tempfile.TemporaryFile() as stream:
        stream.write(body)
        stream.seek(0)
        _, seconds, peak = peak_of(lambda: streaming.hollow(stream, len(body)))
    rows.append(("envelope: streaming.hollow (file in 1 MiB chunks)", seconds, peak / size))
    _, seconds, peak = peak_of(spyne_read)
    rows.append(("envelope: spyne's way (hardened parse + strict base64)", seconds, peak / size))
    verified, seconds, peak = peak_of(lambda: verify_signature(package, config.policy))
    rows.append(("verify (signing.verify_package)", seconds, peak / size))
    root = verified.signed_root
    del verified
    _, seconds, peak = peak_of(lambda: validate_package(root, config.validation, config.limits))
    rows.append(("validate (edXML, attachments decoded)", seconds, peak / size))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    padding = int(args.size_mb * MiB)
    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmp:
        settings = load_settings(
            None, environ={}, data_dir=Path(tmp) / "data", delivery={"enabled": False}, stream_threshold_bytes=1 << 62
        )
        runtime = build_runtime(settings)
        apps = {"spyne's path": ConnectorApp(runtime)}
        runtime.settings = dataclasses.replace(settings, stream_threshold_bytes=0)
        apps["streaming path"] = ConnectorApp(runtime)
        sender = Sender(runtime)
        for app in apps.values():  # warm-up: imports, schemas, caches
            post(app, sender.send(0)[1])
        runs: dict[str, list[tuple[dict[str, float], float, float]]] = {name: [] for name in apps}
        size = 0
        for _ in range(args.rounds):
            for name, app in apps.items():
                package, body = sender.send(padding)
                size = len(package)
                del package
                stages, seconds, peak = post(app, body)
                runs[name].append((stages, seconds, peak / size))
        alone = stages_alone(runtime, sender, padding)
        runtime.close()
    for key, value in machine().items():
        print(f"- {key}: {value}")
    what = f"a {args.size_mb:g} MiB attachment (package {size / MiB:.1f} MiB)"
    print(f"\nOne sendDocument with {what}, medians of {args.rounds}:\n")
    names = list(runs)
    stage_names = list(runs[names[0]][0][0])
    rows = [
        (stage, *(f"{statistics.median(r[0].get(stage, 0.0) for r in runs[n]):.3f}" for n in names))
        for stage in stage_names
    ]
    rows.append(("**total (s)**", *(f"{statistics.median(r[1] for r in runs[n]):.3f}" for n in names)))
    rows.append(("**peak RSS growth (packages)**", *(f"{statistics.median(r[2] for r in runs[n]):.1f}" for n in names)))
    print(markdown_table(["stage (s)", *names], rows))
    print("\nThe stages alone:\n")
    print(
        markdown_table(
            ["stage", "seconds", "peak RSS growth (packages)"], [(n, f"{s:.3f}", f"{p:.1f}") for n, s, p in alone]
        )
    )


if __name__ == "__main__":
    main()
