"""A live connector and both simulators on 127.0.0.1, wired as in production.

The connector's directory is pointed at the simulators' ephemeral ports, and ``Stack.deliver()``
runs the connector's real outbox worker (``DeliveryWorker.run_once``) until nothing is due, so
every partner call goes through the zeep clients loaded from the checked-in partner WSDLs, as in
production; only the scheduling thread is left out, to keep the tests deterministic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from zeep.transports import Transport

from connector.config import DeliverySettings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import Directory
from connector.serving.app import ConnectorApp
from connector.store import OutboxItem
from simulators import (
    ConnectorEndpoint,
    DocMgmtConfig,
    DocMgmtSimulator,
    Dossier,
    OnestopConfig,
    OnestopSimulator,
    guide,
    start_in_background,
)
from simulators.cli import SAMPLE_DIRECTORY
from simulators.docmgmt import accounts_from_directory
from simulators.httpserver import BackgroundServer
from simulators.onestop import Sent, guide_dossier, guide_files
from simulators.partner_service import DOCMGMT_WSDL_PATH, ONESTOP_WSDL_PATH
from testkit.live import AGENCY, ONESTOP, LiveConnector, start_connector
from testkit.net import new_id

AGENCY_ID = guide.AGENCY.organ_id  # 000.00.31.H31, Sở Tư pháp
FILES = guide_files()


def dossier(n: int = 3) -> Dossier:
    """The guide's dossier Bo_Thu_Tuc_Cap_Huyen-221126-000n (n = 3: number 1948087)."""
    return guide_dossier(n)


@dataclass
class Clock:
    """The document-management simulator's clock: real time unless a test pins it."""

    pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or datetime.now()


@dataclass
class Stack:
    connector: LiveConnector
    connector_server: BackgroundServer
    docmgmt: DocMgmtSimulator
    onestop: OnestopSimulator
    docmgmt_url: str
    onestop_url: str
    worker: DeliveryWorker
    clock: Clock
    _connector_client: zeep.Client | None = field(default=None, repr=False)

    def deliver(self) -> list[OutboxItem]:
        """Run the connector's outbox worker until nothing is due; returns every outbox item."""
        while self.worker.run_once() is not None:
            pass
        return self.connector.runtime.store.outbox_items()

    def exchange(self, message_id: str) -> Any:
        if self._connector_client is None:
            self._connector_client = self.connector.client()
        return self._connector_client.service.getStatus(messageId=message_id)

    def business_states(self, message_id: str) -> list[str]:
        """The exchange's timeline without the connector's own transport notes."""
        return [e.state for e in self.exchange(message_id).timeline.TimelineEvent if e.actor != "connector"]

    def stop_connector(self) -> None:
        """An outage. A stopped waitress keeps the keep-alive sockets it accepted open with nobody
        reading them, where a dead process would have reset them; close them too, or a client's
        next request on a pooled connection waits for its whole read timeout."""
        self.connector_server.stop()
        for channel in list(self.connector_server._server._map.values()):
            channel.close()

    def restart_connector(self) -> None:
        """The connector comes back on the same address after an outage."""
        self.connector_server = BackgroundServer(
            ConnectorApp(self.connector.runtime), port=self.connector_server.port
        ).start()

    def send(self, kind: str, n: int = 3, username: str = "cbtiepnhan") -> Sent:
        return self.onestop.send_dossier(dossier(n), kind, username, FILES)


@pytest.fixture(scope="session")
def partner_clients() -> PartnerClients:
    """The connector's zeep clients for partners (both WSDLs parsed once per session)."""
    return PartnerClients(Timeouts(connect=5, read=30))


@pytest.fixture
def stack(tmp_path: Path, partner_clients: PartnerClients) -> Iterator[Stack]:
    live, connector_server = start_connector(tmp_path / "connector")
    clock = Clock()
    docmgmt = DocMgmtSimulator(
        DocMgmtConfig(
            db_path=tmp_path / "docmgmt" / "docmgmt.db",
            organ_id=AGENCY_ID,
            keys_dir=live.keys_dir,
            connector=ConnectorEndpoint.at(live.url, AGENCY, live.password(AGENCY)),
            accounts=accounts_from_directory(SAMPLE_DIRECTORY, AGENCY_ID),
            clock=clock,
        )
    )
    onestop = OnestopSimulator(
        OnestopConfig(
            db_path=tmp_path / "onestop" / "onestop.db",
            organization=guide.ONESTOP,
            keys_dir=live.keys_dir,
            connector=ConnectorEndpoint.at(live.url, ONESTOP, live.password(ONESTOP)),
        )
    )
    docmgmt_server = start_in_background(docmgmt)
    onestop_server = start_in_background(onestop)
    # Point the connector's push systems at the simulators' ports (the sample says 8092 / 8091).
    store = live.runtime.store
    store.import_directory(
        Directory(
            systems=[
                dataclasses.replace(store.system(AGENCY), endpoint=f"{docmgmt_server.url}/soap"),
                dataclasses.replace(store.system(ONESTOP), endpoint=f"{onestop_server.url}/soap"),
            ]
        )
    )
    worker = DeliveryWorker(live.runtime.store, partner_clients, DeliverySettings(enabled=False))
    stack = Stack(live, connector_server, docmgmt, onestop, docmgmt_server.url, onestop_server.url, worker, clock)
    yield stack
    for server in (docmgmt_server, onestop_server, stack.connector_server):
        server.stop()
    docmgmt.close()
    onestop.close()
    live.runtime.close()


def _zeep(wsdl: Path) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False
    transport = Transport(session=session, timeout=10, operation_timeout=30)
    return zeep.Client(
        str(wsdl), transport=transport, settings=zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
    )


@pytest.fixture(scope="session")
def docmgmt_wsdl_client() -> zeep.Client:
    return _zeep(DOCMGMT_WSDL_PATH)


@pytest.fixture(scope="session")
def onestop_wsdl_client() -> zeep.Client:
    return _zeep(ONESTOP_WSDL_PATH)


@pytest.fixture
def docmgmt_service(stack: Stack, docmgmt_wsdl_client: zeep.Client) -> Any:
    """The document-management simulator's operations, called from the checked-in WSDL."""
    return docmgmt_wsdl_client.create_service(
        "{urn:vn:lienthong:partner:docmgmt:1}DocMgmtPartnerPort", f"{stack.docmgmt_url}/soap"
    )


@pytest.fixture
def onestop_service(stack: Stack, onestop_wsdl_client: zeep.Client) -> Any:
    return onestop_wsdl_client.create_service(
        "{urn:vn:lienthong:partner:onestop:1}OnestopPartnerPort", f"{stack.onestop_url}/soap"
    )


def document_delivery(stack: Stack, sent: Sent, message_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """A deliverDocument argument for what the one-stop sent, from the connector's own account of it."""
    x = stack.exchange(sent.message_id)
    delivery = {
        "messageId": message_id or new_id(),
        "exchangeId": x.exchangeId,
        "kind": x.kind,
        "queue": x.queue,
        "targetAccount": x.targetAccount,
        "officerAccount": "cbtiepnhan",
        "documentId": x.documentId,
        "code": "02/LT_iGate",
        "subject": x.dossierCode,
        "dossierCode": x.dossierCode,
        "onestopNumber": x.onestopNumber,
        "procedureCode": x.procedureCode,
        "procedureName": guide.PROCEDURE_NAME,
        "officerOpinion": None,
        "package": stack.onestop.link.package(sent.message_id),
    }
    return delivery | changes
