"""A real connector on 127.0.0.1 (waitress, SQLite in a temp dir or PostgreSQL, development
keys) and zeep clients for it, each authenticated as a system of the sample directory
(UsernameToken PasswordDigest, with a password generated and set through the credentials admin);
and the rows of its store, counted."""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import zeep
from sqlalchemy import func, select
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from connector.auth.admin import CredentialAdmin, generate_password
from connector.auth.wsse import digest_header
from connector.config import load_settings
from connector.edxml import Package, build
from connector.serving.admission import LargeRequestGate
from connector.serving.app import ConnectorApp
from connector.serving.httpserver import server_options
from connector.serving.runtime import Runtime, build_runtime
from connector.store import tables
from signing import SigningIdentity, sign_package
from simulators import guide
from simulators.httpserver import BackgroundServer
from testkit.net import new_id

# The sample directory's systems (connector/samples/directory.json).
ONESTOP = "igate-hungyen"  # one-stop of 000.00.13.H31
AGENCY = "eoffice-stp"  # document management of 000.00.31.H31, the guide's agency (push)
PULL_AGENCY = "eoffice-ubnd"  # document management of 000.00.00.H31 (pull)


@dataclass
class LiveConnector:
    url: str
    runtime: Runtime | None  # None: a connector in another process (set passwords yourself)
    keys_dir: Path
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    _setting: threading.Lock = field(default_factory=threading.Lock, repr=False)  # clients made in threads

    def sign(self, package: Package, organ_id: str | None = None) -> bytes:
        identity = self.runtime.dev_keys.identity(organ_id or package.sender.organ_id)
        return sign_package(build(package), identity)

    def password(self, system_id: str) -> str:
        """The system's password, generated and set (encrypted) on first use."""
        with self._setting:
            if system_id not in self.passwords:
                password = generate_password()
                CredentialAdmin(self.runtime.store, self.runtime.authenticator.box).set_password(system_id, password)
                self.passwords[system_id] = password
            return self.passwords[system_id]

    def client(self, system_id: str | None = ONESTOP, password: str | None = None, digest: bool = True) -> zeep.Client:
        """A zeep client that authenticates as ``system_id`` (None: anonymous), as integrators do."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE etc. must not leak into tests
        transport = Transport(session=session, timeout=10, operation_timeout=30)
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        token = None
        if system_id is not None:
            token = UsernameToken(system_id, password or self.password(system_id), use_digest=digest)
        return zeep.Client(f"{self.url}/soap?wsdl", transport=transport, settings=settings, wsse=token)

    def security_header(
        self,
        system_id: str = ONESTOP,
        nonce: bytes | None = None,
        created: str | None = None,
        password: str | None = None,
    ) -> str:
        """A ``wsse:Security`` header (PasswordDigest) as text, for hand-written envelopes."""
        return digest_header(
            system_id,
            password or self.password(system_id),
            nonce or os.urandom(16),
            created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


def start_connector(
    data_dir: Path, database_url: str | None = None, **overrides: object
) -> tuple[LiveConnector, BackgroundServer]:
    overrides.setdefault("auto_migrate", "always")  # PostgreSQL too: each test's database starts empty
    settings = load_settings(
        None,
        environ={},
        data_dir=data_dir,
        database_url=database_url,
        delivery=overrides.pop("delivery", {"enabled": False}),
        **overrides,
    )
    runtime = build_runtime(settings)
    holder: dict[str, ConnectorApp] = {}
    # The production server's limits (connections, idle timeout, size cap as a SOAP fault).
    # The memory budget is shared by the server (refusals from the headers) and the app.
    gate = LargeRequestGate(settings.large_request_bytes, settings.max_large_requests)
    server = BackgroundServer(
        lambda environ, start: holder["app"](environ, start), admission=gate, **server_options(settings, threads=4)
    )
    # The WSDL address is pinned from configuration once the port is known, as an operator would.
    runtime.settings = dataclasses.replace(settings, public_url=server.url)
    holder["app"] = ConnectorApp(runtime, gate)
    server.start()
    return LiveConnector(server.url, runtime, settings.effective_keys_dir), server


# Authentication's own bookkeeping: the caller's password (set on first use) and the nonce of
# every authenticated request (replay protection) are written before the request is looked at.
AUTH_TABLES = frozenset({"credentials", "auth_nonces", "auth_failures"})


def row_counts(live: LiveConnector) -> dict[str, int]:
    """Rows in every table of the store but authentication's: a refused request must change none."""
    with live.runtime.store.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in tables.metadata.sorted_tables
            if t.name not in AUTH_TABLES
        }


def send_guide_documents(
    client: zeep.Client, identity: SigningIdentity, codes: list[str], dossier: dict[str, object]
) -> None:
    """The guide's document for each dossier code, signed by the one-stop system and sent as an
    incoming document (``dossier``: the request's dossier fields, its code replaced)."""
    for code in codes:
        package = guide.send_package(guide.Dossier(code, "1948087", "Nguyễn Văn An", "cbtiepnhan"))
        client.service.sendDocument(
            messageId=new_id(),
            edxmlPackage=sign_package(build(package), identity),
            kind="INCOMING",
            senderUsername="cbtiepnhan",
            dossier=dossier | {"dossierCode": code},
        )
