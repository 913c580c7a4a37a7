"""``python server.py --demo``: the whole flow on one machine, step by step.

Starts the connector (embedded defaults), the document-management simulator and the one-stop
simulator on localhost, the delivery worker, then plays the guide's two cases – Văn bản đến and
Văn bản đi – printing each step as it happens, and keeps serving. The connector uses the data
directory as ``python server.py`` does (``DATA_DIR/connector.db``, ``DATA_DIR/keys``,
``DATA_DIR/secret.key``), so every command of ``docs/integration.md`` works after ``make run`` as
written; the simulators' databases, in ``DATA_DIR/demo``, start empty on each run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from connector.auth.admin import CredentialAdmin, generate_password
from connector.config import Settings
from connector.exchange.directory import Directory
from connector.serving.app import ConnectorApp
from connector.serving.runtime import SAMPLE_DIRECTORY, Runtime, build_runtime, build_worker
from simulators import (
    ConnectorEndpoint,
    DocMgmtConfig,
    DocMgmtSimulator,
    OnestopConfig,
    OnestopSimulator,
    guide,
    start_in_background,
)
from simulators.docmgmt import accounts_from_directory
from simulators.httpserver import BackgroundServer
from simulators.onestop import guide_dossier, guide_files

T = TypeVar("T")
DOCMGMT_SYSTEM = "eoffice-stp"  # the sample directory's systems of the guide's agency and one-stop
ONESTOP_SYSTEM = "igate-hungyen"


@dataclass(frozen=True)
class DemoPorts:
    connector: int = 8080
    onestop: int = 8091
    docmgmt: int = 8092


class DemoError(RuntimeError):
    pass


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll until the worker has moved things along (delivery is asynchronous, as in production)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise DemoError(f"timed out after {timeout:.0f}s waiting for: {what}")


class Demo:
    def __init__(self, settings: Settings, ports: DemoPorts, say: Callable[[str], None] = print) -> None:
        root = settings.data_dir / "demo"
        root.mkdir(parents=True, exist_ok=True)
        for stale in (root / "docmgmt.db", root / "onestop.db"):
            for path in (stale, Path(f"{stale}-wal"), Path(f"{stale}-shm")):
                path.unlink(missing_ok=True)
        # The connector's data where `python server.py` and `python -m connector` look for it
        # (DATA_DIR itself), the simulators' beside it in DATA_DIR/demo.
        self.settings = dataclasses.replace(settings, port=ports.connector)
        self.say = say
        self.runtime: Runtime = build_runtime(self.settings, sample_endpoints=True)
        slot: list[ConnectorApp] = []
        self.server = BackgroundServer(
            lambda e, s: slot[0](e, s),
            host=self.settings.host,
            port=ports.connector,
            max_request_body_size=self.settings.max_request_bytes,
        )
        self.runtime.settings = dataclasses.replace(
            self.settings, public_url=self.settings.public_url or self.server.url
        )
        slot.append(ConnectorApp(self.runtime))
        self.server.start()
        url = self.runtime.settings.effective_public_url
        keys = self.settings.effective_keys_dir
        # Each simulator authenticates as its own system, with a password generated for this run.
        admin = CredentialAdmin(self.runtime.store, self.runtime.authenticator.box)
        passwords = {system_id: generate_password() for system_id in (DOCMGMT_SYSTEM, ONESTOP_SYSTEM)}
        for system_id, password in passwords.items():
            admin.set_password(system_id, password)
        self.docmgmt = DocMgmtSimulator(
            DocMgmtConfig(
                db_path=root / "docmgmt.db",
                organ_id=guide.AGENCY.organ_id,
                keys_dir=keys,
                connector=ConnectorEndpoint.at(url, DOCMGMT_SYSTEM, passwords[DOCMGMT_SYSTEM]),
                accounts=accounts_from_directory(SAMPLE_DIRECTORY, guide.AGENCY.organ_id),
            )
        )
        self.onestop = OnestopSimulator(
            OnestopConfig(
                db_path=root / "onestop.db",
                organization=guide.ONESTOP,
                keys_dir=keys,
                connector=ConnectorEndpoint.at(url, ONESTOP_SYSTEM, passwords[ONESTOP_SYSTEM]),
            )
        )
        self.docmgmt_server = start_in_background(self.docmgmt, host=self.settings.host, port=ports.docmgmt)
        self.onestop_server = start_in_background(self.onestop, host=self.settings.host, port=ports.onestop)
        # The sample directory names the default ports; point it at where the simulators really are.
        store = self.runtime.store
        store.import_directory(
            Directory(
                systems=[
                    dataclasses.replace(store.system(DOCMGMT_SYSTEM), endpoint=f"{self.docmgmt_server.url}/soap"),
                    dataclasses.replace(store.system(ONESTOP_SYSTEM), endpoint=f"{self.onestop_server.url}/soap"),
                ]
            )
        )
        self.worker = build_worker(self.runtime).start()

    def urls(self) -> list[str]:
        return [
            f"connector WSDL:           {self.runtime.settings.effective_public_url}/soap?wsdl",
            f"document management WSDL: {self.docmgmt_server.url}/soap?wsdl  (screens: {self.docmgmt_server.url}/)",
            f"one-stop WSDL:            {self.onestop_server.url}/soap?wsdl  (screens: {self.onestop_server.url}/)",
        ]

    def step(self, text: str) -> None:
        self.say(f"  [{datetime.now():%H:%M:%S}] {text}")

    def play(self) -> None:
        self.say("edXML connector demo: the provincial guide's two cases")
        for line in self.urls():
            self.say("  " + line)
        self.case(
            "Case 1 – Văn bản đến (INCOMING → the clerk's registration queue)",
            3,
            "INCOMING",
            "cbtiepnhan",
            "22/CV_LT_MOTCUA",
        )
        self.case(
            "Case 2 – Văn bản đi (OUTGOING → the officer's drafts)", 2, "OUTGOING", "tiepnhan.motcua", "23/CV_LT_MOTCUA"
        )
        self.say("demo complete: both dossiers have their result files")
        self.say("the same data from the command line (another terminal):")
        for command in self.commands():
            self.say("  " + command)
        self.say("a first client of your own (docs/integration.md, section 1):")
        for command in self.first_client():
            self.say("  " + command)

    def commands(self) -> list[str]:
        """Operator commands that read the demo's database and keys (the data directory's)."""
        where = self._where()
        return [
            f".venv/bin/python -m connector exchange show {guide_dossier(3).code}{where}",
            f".venv/bin/python -m connector outbox list{where}",
            f".venv/bin/python -m connector keys status{where}",
        ]

    def first_client(self) -> list[str]:
        """docs/integration.md's first steps, ready to paste (the data directory's keys)."""
        where = self._where()
        keys = self.settings.effective_keys_dir / guide.ONESTOP.organ_id
        url = self.runtime.settings.effective_public_url
        return [
            "read -rs PASSWORD   # the password your client will use (12 characters or more)",
            f"printf '%s\\n' \"$PASSWORD\" | .venv/bin/python -m connector credentials set "
            f"{ONESTOP_SYSTEM} --password-stdin{where}",
            f"# (the one-stop simulator then no longer calls as {ONESTOP_SYSTEM}: the next `make run` resets it)",
            ".venv/bin/python -m connector edxml build --from-json first.json --out first.edxml",
            f".venv/bin/python -m signing sign first.edxml --out first.signed.edxml --key {keys}.key.pem "
            f"--cert {keys}.cert.pem",
            f"printf '%s\\n' \"$PASSWORD\" | .venv/bin/python -m connector wsse-header {ONESTOP_SYSTEM} "
            "--password-stdin   # a fresh wsse:Security header for a hand-written envelope",
            f"WSDL: {url}/soap?wsdl   (SOAP 1.1: {url}/soap, SOAP 1.2: {url}/soap12)",
        ]

    def _where(self) -> str:
        data_dir = self.settings.data_dir
        return "" if data_dir == Path("data") else f" --data-dir {data_dir}"

    def case(self, title: str, n: int, kind: str, username: str, number: str) -> None:
        self.say(title)
        dossier = guide_dossier(n)
        sent = self.onestop.send_dossier(dossier, kind, username, guide_files())
        if not sent.call.delivered:
            raise DemoError(f"sendDocument failed: {sent.call}")
        self.step(f"sent: one-stop {username} sent dossier {dossier.code} as {kind} (Số ký hiệu 02/LT_iGate)")
        exchange = self.runtime.store.exchange(sent.message_id)
        self.step(f"routed: {exchange.agency_organ} {exchange.queue} queue of {exchange.target_account}")
        if kind == "INCOMING":
            row = wait_for("the document in the registration queue", lambda: self.docmgmt.registration_queue())[0]
            self.step(
                f"arrived in queue: Văn bản đến chờ vào sổ, Số đến {row.arrival_number}, "
                f"ngày đến {row.arrival_date:%d/%m/%Y}, Trích yếu {row.abstract}"
            )
            self.docmgmt.register(row)
            self.step("registered: the clerk entered it in the incoming book (status 03)")
            self.docmgmt.assign(row, "chuyenvien.stp")
            self.step("assigned: to specialist chuyenvien.stp (status 04)")
            self.docmgmt.draft_reply(row)
            self.step("drafted: reply 'Kết quả giải quyết TTHC' with the result file (status 05)")
            draft = self.docmgmt.drafts()[0]
        else:
            draft = wait_for("the draft in the officer's list", lambda: self.docmgmt.drafts())[0]
            self.step(
                f"arrived in drafts: Văn bản chờ xử lý of {draft.officer} (Trả kết quả iGate: "
                f"{draft.return_to_onestop})"
            )
        self.docmgmt.sign(draft, "phochutich", "Phó Chủ tịch")
        self.step("signed: by phochutich, Phó Chủ tịch")
        published = self.docmgmt.issue(
            draft, number, document_identifier=f"001.00.31.W00-2022-{number.replace('/', '.')}"
        )
        if published.state != "finished":
            raise DemoError(f"publishResult failed: {published}")
        self.step(f"issued as {number}: publishResult accepted, exchange finished")
        view = wait_for(
            "the result file in the one-stop dossier",
            lambda: (v := self.onestop.dossier(dossier.code)).result_files and v,
        )
        result = view.result_files[0]
        self.step(
            f"result file in the dossier: {result.name} ({result.size:,} bytes, {result.number_symbol}) – "
            f"dossier {view.code} is {view.state}"
        )

    def close(self) -> None:
        self.worker.stop()
        for server in (self.onestop_server, self.docmgmt_server, self.server):
            server.stop()
        self.docmgmt.close()
        self.onestop.close()
        self.runtime.close()
