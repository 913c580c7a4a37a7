"""The national document axis over real HTTP (simulators/axis.py): its HMAC checks refuse forged,
stale and misaddressed requests; the connector's outbox delivers to a vxp partner with sendEdoc,
the signed package byte for byte, and the receiving system reads and acknowledges it."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from connector.auth.admin import CredentialAdmin
from connector.delivery.vxp import VIETNAM, AxisClient, AxisError
from connector.exchange.directory import Directory, PartnerAuth, PartnerAuthType, Protocol
from connector.store import BreakerState
from simulators.axis import AxisConfig, AxisSimulator, AxisSystem
from simulators.httpserver import BackgroundServer
from testkit.clock import StepClock
from tests.lgsp.gatewaykit import AGENCY, document_items, drain, worker
from tests.partners.conftest import AGENCY_ID

CONNECTOR = AxisSystem("lienthong.hungyen", "connector-axis-key", ("000.00.13.H31",))
RECEIVER = AxisSystem("vxp.stp.hungyen", "receiver-axis-key", (AGENCY_ID,))


@pytest.fixture
def axis():
    simulator = AxisSimulator(AxisConfig([CONNECTOR, RECEIVER]))
    server = BackgroundServer(simulator, threads=4).start()
    yield simulator, server.url
    server.stop()


def test_a_signed_request_is_accepted_and_lands_in_the_receivers_inbox(axis):
    simulator, url = axis
    doc_id = AxisClient(url, CONNECTOR.system_id, CONNECTOR.secret).send_edoc(AGENCY_ID, "edoc", b"<edXML/>")
    receiver = AxisClient(url, RECEIVER.system_id, RECEIVER.secret)
    assert [e.doc_id for e in receiver.received()] == [doc_id]
    assert receiver.get_edoc(doc_id) == b"<edXML/>"
    receiver.update_status(doc_id, "done")
    assert receiver.received() == [] and simulator.edocs[doc_id].status == "done"


@pytest.mark.parametrize(
    ("client", "code"),
    [
        (lambda url: AxisClient(url, CONNECTOR.system_id, "a-forged-key"), "INVALID_HASH"),
        (
            lambda url: AxisClient(
                url, CONNECTOR.system_id, CONNECTOR.secret, clock=lambda: datetime.now(VIETNAM) - timedelta(hours=1)
            ),
            "TIMESTAMP_EXPIRED",
        ),
        (lambda url: AxisClient(url, "nobody.registered", "x"), "UNKNOWN_SYSTEM"),
    ],
    ids=["forged-hash", "stale-timestamp", "unknown-system"],
)
def test_the_axis_refuses_a_bad_hmac(axis, client, code):
    simulator, url = axis
    with pytest.raises(AxisError) as refused:
        client(url).send_edoc(AGENCY_ID, "edoc", b"<edXML/>")
    assert refused.value.code == code and refused.value.status == 401
    assert simulator.edocs == {}


def test_the_axis_refuses_a_wrong_from_and_an_unknown_receiver(axis):
    simulator, url = axis
    client = AxisClient(url, CONNECTOR.system_id, CONNECTOR.secret)
    original = client._fields
    client._fields = lambda *a, **k: original(*a, **k) | {"from": RECEIVER.system_id}  # signed, but not its own id
    with pytest.raises(AxisError) as refused:
        client.send_edoc(AGENCY_ID, "edoc", b"<edXML/>")
    assert refused.value.code == "INVALID_FROM"
    with pytest.raises(AxisError) as refused:
        AxisClient(url, CONNECTOR.system_id, CONNECTOR.secret).send_edoc("000.99.99.H99", "edoc", b"<edXML/>")
    assert refused.value.code == "RECEIVER_NOT_FOUND"


def on_the_axis(stack, url: str, secret: str) -> None:
    runtime = stack.connector.runtime
    system = dataclasses.replace(
        runtime.store.system(AGENCY),
        endpoint=url,
        protocol=Protocol.VXP,
        auth=PartnerAuth(PartnerAuthType.VXP_HMAC, system_id=CONNECTOR.system_id),
    )
    runtime.store.import_directory(Directory(systems=[system]))
    CredentialAdmin(runtime.store, runtime.authenticator.box).set_partner_secret(AGENCY, secret)


def test_the_outbox_delivers_to_an_agency_on_the_axis_byte_for_byte(stack, axis, partner_clients):
    simulator, url = axis
    on_the_axis(stack, url, CONNECTOR.secret)
    stack.send("INCOMING")
    drain(worker(stack, partner_clients, StepClock()))

    [item] = document_items(stack)
    assert item.state == "delivered"
    [edoc] = simulator.inbox(RECEIVER.system_id)
    assert edoc.sender == CONNECTOR.system_id and edoc.to == AGENCY_ID and edoc.messagetype == "edoc"
    assert edoc.content == stack.connector.runtime.store.package_bytes(item.package_digest)  # never re-serialised
    notes = [e.note or "" for e in stack.connector.runtime.store.timeline(item.exchange_id)]
    assert any(f"reference {edoc.doc_id}" in n for n in notes)


def test_a_wrong_axis_key_opens_the_breaker_and_dead_letters_nothing(stack, axis, partner_clients):
    simulator, url = axis
    on_the_axis(stack, url, "not-the-axis-key")
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, partner_clients, clock)
    drain(w)
    [item] = document_items(stack)
    assert item.state == "pending" and "INVALID_HASH" in item.last_error
    assert stack.connector.runtime.store.partner_queue(AGENCY).breaker is BreakerState.OPEN
    clock.advance(49 * 3600)
    drain(w)
    assert document_items(stack)[0].state == "pending"
