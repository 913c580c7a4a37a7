"""A live connector (waitress on 127.0.0.1) holding the demo's dossier (the guide's case), one
dead letter, and two operators: ``an`` (operator) and ``binh`` (read-only); and more exchanges
on demand (``seed_exchanges``)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import requests

from connector.admin.auth import add_operator
from connector.clock import utcnow
from connector.config import DeliverySettings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import Directory, SystemEntry, SystemKind
from connector.exchange.states import ExchangeState
from connector.store import (
    NewOutboxItem,
    OperatorRole,
    OutboxOperation,
    OutboxState,
    PackageBlob,
    Store,
    StoredEvent,
    StoredMessage,
)
from testkit.live import LiveConnector, start_connector
from tests.evidence.conftest import play_guide
from tests.store.test_store import exchange

PASSWORDS = {"an": "mat-khau-van-hanh", "binh": "mat-khau-chi-doc"}


@dataclass
class Console:
    live: LiveConnector
    dead_items: list[int]
    """The document's delivery, then the status's: tests that retry one leave the other dead."""

    @property
    def dead_item(self) -> int:
        return self.dead_items[0]

    @property
    def url(self) -> str:
        return self.live.url

    def session(self, name: str) -> requests.Session:
        """A logged-in HTTP session of that operator."""
        http = requests.Session()
        http.trust_env = False
        form = http.get(f"{self.url}/admin/login", timeout=10)
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        answer = http.post(
            f"{self.url}/admin/login",
            data={"username": name, "password": PASSWORDS[name], "csrf": csrf},
            timeout=10,
        )
        assert answer.url.endswith("/admin/partners"), answer.text
        return http


def seed_exchanges(store: Store, system_id: str, count: int, first_at: datetime, prefix: str = "seed") -> list[str]:
    """``count`` accepted incoming exchanges, one second apart from ``first_at``, written as the
    service writes one (``Store.create_exchange``: exchange, package, receipt, first event,
    evidence record), each with one delivery item for ``system_id`` in its directory mode (a pull
    partner's wait until fetched). Exchange ids ``{prefix}-0000`` on, dossier codes ``HS-{PREFIX}-0000``."""
    mode = store.system(system_id).mode
    blob = PackageBlob("e" * 64, b"<edXML/>", ())
    ids = []
    for i in range(count):
        at = first_at + timedelta(seconds=i)
        exchange_id = f"{prefix}-{i:04d}"
        store.create_exchange(
            dataclasses.replace(
                exchange(exchange_id, f"doc-{exchange_id}"),
                dossier_code=f"HS-{prefix.upper()}-{i:04d}",
                onestop_number=None,
                procedure_code="1.000001",
                agency_organ="000.00.32.H31",
                target_account="vanthu",
                package_digest=blob.digest,
                received_at=at,
                created_at=at,
                updated_at=at,
            ),
            blob,
            StoredMessage(exchange_id, "sendDocument", "d" * 64, exchange_id, b"<receipt/>", at),
            StoredEvent(at, ExchangeState.ACCEPTED, "test"),
            [NewOutboxItem(f"{exchange_id}:deliverDocument", system_id, mode, OutboxOperation.DELIVER_DOCUMENT, "{}")],
        )
        ids.append(exchange_id)
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    """One per test module: tests that change something say so and leave the rest intact."""
    live, server = start_connector(tmp_path_factory.mktemp("console"))
    store = live.runtime.store
    # Both partners are down: each delivery fails once and is dead-lettered.
    down = [
        SystemEntry("eoffice-stp", "000.00.31.H31", SystemKind.DOCMGMT, f"http://127.0.0.1:{_free_port()}/soap"),
        SystemEntry(  # still connected to the guide's agency: it sends documents there
            "igate-hungyen",
            "000.00.13.H31",
            SystemKind.ONESTOP,
            f"http://127.0.0.1:{_free_port()}/soap",
            agencies=("000.00.31.H31",),
        ),
    ]
    store.import_directory(Directory(systems=down))
    play_guide(live.runtime)
    worker = DeliveryWorker(store, PartnerClients(Timeouts(2, 2)), DeliverySettings(retry_horizon=0))
    while worker.run_once() is not None:  # with no retry horizon, the first failure is final
        pass
    dead = [item.item_id for item in store.outbox_items(state=OutboxState.DEAD)]
    assert len(dead) == 2
    add_operator(store, "an", PASSWORDS["an"], OperatorRole.OPERATOR, utcnow())
    add_operator(store, "binh", PASSWORDS["binh"], OperatorRole.READ_ONLY, utcnow())
    yield Console(live, dead)
    server.stop()
    live.runtime.close()
