"""Real processes for the bad-day tests: ``server.py`` with a configuration of the test's own, a
private PostgreSQL that a test stops and starts (never the shared one), SOAP calls as a partner
makes them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from connector.auth.admin import generate_password
from signing.keys import load_dev_keys
from simulators import guide
from testkit.live import LiveConnector, send_guide_documents
from testkit.net import free_port, new_id, wait_until
from testkit.processes import set_password
from tests.soap.test_guide_cases import DOSSIER

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SAMPLE = ROOT / "connector" / "data" / "sample-directory.json"

__all__ = ["ConnectorProcess", "PrivatePostgres", "free_port", "new_id", "wait_until"]


def as_postgres(*command: str) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as the ``postgres`` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class PrivatePostgres:
    """A PostgreSQL of the test's own on a free port, in a temporary directory."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> PrivatePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o755)
        subprocess.run(
            as_postgres(str(PG_BIN / "initdb"), "-D", str(self.root / "db"), "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )
        return self.start()

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "db"), "-w", "-o", options, *args),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> PrivatePostgres:
        self._ctl("-l", str(self.root / "pg.log"), "start")
        return self

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def write_directory(path: Path, docmgmt_endpoint: str | None) -> Path:
    """The guide's sample directory with only the document-management system pushed to."""
    directory = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for system in directory["systems"]:
        if system["system_id"] == "eoffice-stp" and docmgmt_endpoint:
            system["endpoint"] = docmgmt_endpoint
        else:
            system.update(endpoint=None, mode="pull")
    path.write_text(json.dumps(directory), encoding="utf-8")
    return path


@dataclass
class ConnectorProcess:
    """``server.py`` in a process of its own, on its own port and data directory."""

    work: Path
    config_lines: str = ""
    delivery: str = ""
    docmgmt_endpoint: str | None = None
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None  # default: WORK/data

    @property
    def data(self) -> Path:
        return self.data_dir or self.work / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.work / "connector.toml"

    @property
    def log(self) -> Path:
        return self.work / f"connector-{self.runs}.log"

    def write_config(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        directory = write_directory(self.work / "directory.json", self.docmgmt_endpoint)
        self.config.write_text(
            f'data_dir = "{self.data}"\nport = {self.port}\ndirectory_file = "{directory}"\n'
            f"{self.config_lines}\n[delivery]\n{self.delivery}\n",
            encoding="utf-8",
        )

    def start(self, wait: bool = True) -> ConnectorProcess:
        if self.runs == 0:
            self.write_config()
        self.runs += 1
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--config", str(self.config), *self.args],
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        if wait:
            wait_until(lambda: self.get("/health/live").ok, what=f"the connector (log: {self.log})")
        return self

    def get(self, path: str, timeout: float = 2.0) -> requests.Response:
        return requests.get(self.url + path, timeout=timeout)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def credentials(self) -> None:
        """Passwords for the one-stop system (the sender) and the document-management one."""
        for system_id in ("igate-hungyen", "eoffice-stp"):
            self.passwords[system_id] = generate_password()
            set_password(self.config, system_id, self.passwords[system_id])

    def client(self, system_id: str = "igate-hungyen"):  # noqa: ANN201 - a zeep client
        return LiveConnector(self.url, None, self.data / "keys").client(system_id, self.passwords[system_id])

    def send(self, n: int, first: int = 10) -> list[str]:
        """``n`` documents sent as the one-stop system; returns their dossier codes."""
        identity = load_dev_keys(self.data / "keys").identity(guide.ONESTOP.organ_id)
        client = self.client()
        codes = [f"Bo_Thu_Tuc_Cap_Huyen-221126-{k:04d}" for k in range(first, first + n)]
        send_guide_documents(client, identity, codes, DOSSIER)
        return codes

    def log_lines(self, since: int = 0) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()[since:]


def eventually(probe: Callable[[], object], timeout: float, what: str) -> object:
    return wait_until(probe, timeout=timeout, what=what)


def elapsed(start: float) -> float:
    return time.monotonic() - start
