"""Pull mode: a system that hosts no endpoint lists, fetches and acknowledges its items; nothing
is pushed to it, and the transport acknowledgement is not a business status."""

from __future__ import annotations

import json

from connector.config import DeliverySettings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.edxml import Organization
from simulators import guide
from testkit.live import AGENCY, ONESTOP, PULL_AGENCY
from testkit.net import new_id
from tests.soap.test_guide_cases import DOSSIER

UBND = Organization("000.00.00.H31", "UBND tỉnh Hưng Yên")  # eoffice-ubnd is a pull system in the sample


def send_to_pull_system(connector, client):
    package = guide.send_package()
    package.recipients = [UBND]
    return client.service.sendDocument(
        messageId=new_id(),
        edxmlPackage=connector.sign(package),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER | {"procedureCode": "XD_2021_10"},
    )


def test_list_fetch_acknowledge(connector):
    receipt = send_to_pull_system(connector, connector.client(ONESTOP))
    client = connector.client(PULL_AGENCY)
    assert receipt.routing.targetAccount == "vanthu.ubnd"

    # The push worker leaves pull items alone.
    worker = DeliveryWorker(connector.runtime.store, PartnerClients(Timeouts(1, 1)), DeliverySettings())
    assert worker.run_once() is None

    [item] = client.service.listPending(systemId="eoffice-ubnd")  # zeep unwraps the array
    assert (item.operation, item.exchangeId, item.state) == ("deliverDocument", receipt.exchangeId, "pending")
    fetched = client.service.fetchPending(systemId="eoffice-ubnd", itemId=item.itemId)
    metadata = json.loads(fetched.metadata)
    assert (metadata["queue"], metadata["target_account"]) == ("registration", "vanthu.ubnd")
    assert fetched.edxmlPackage == connector.runtime.store.package_bytes(receipt.packageDigest)
    assert fetched.item.state == "fetched"

    # It is listed for its own system only (the other agency's own list has nothing).
    assert not connector.client(AGENCY).service.listPending(systemId=AGENCY)

    failed = client.service.acknowledge(systemId="eoffice-ubnd", itemId=item.itemId, outcome="FAIL", reason="disk full")
    assert failed.state == "pending"  # back in the list
    done = client.service.acknowledge(systemId="eoffice-ubnd", itemId=item.itemId, outcome="DONE")
    assert done.state == "delivered"
    assert not client.service.listPending(systemId="eoffice-ubnd")

    exchange = client.service.getStatus(messageId=receipt.messageId)
    assert exchange.state == "accepted"  # transport done; the business status has not moved
    assert "acknowledged by eoffice-ubnd" in exchange.timeline.TimelineEvent[-1].note
