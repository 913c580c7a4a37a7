"""Documents cross the national axis both ways (simulators/axis.py over real HTTP): the dossier's
document goes out with sendEdoc; the agency's statuses and its issued result come back through
the poller and the same pipeline as updateStatus/publishResult; the axis is acknowledged only
after the exchange is stored, and a crash between the two is replayed without a duplicate."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from connector.delivery.axis_poller import AxisPoller, Handled
from connector.delivery.protocols import PartnerSecrets
from connector.delivery.vxp import AxisClient
from connector.edxml import StatusCode, StatusPackage
from simulators import guide
from simulators.axis import AxisConfig, AxisSimulator
from simulators.httpserver import BackgroundServer
from simulators.packages import signed
from testkit.clock import StepClock
from tests.lgsp.gatewaykit import drain, worker
from tests.lgsp.test_axis import CONNECTOR, RECEIVER, on_the_axis
from tests.partners.conftest import AGENCY_ID, dossier

ONESTOP_ID = guide.ONESTOP.organ_id


@pytest.fixture
def axis_stack(stack, partner_clients):
    simulator = AxisSimulator(AxisConfig([CONNECTOR, RECEIVER]))
    server = BackgroundServer(simulator, threads=4).start()
    on_the_axis(stack, server.url, CONNECTOR.secret)
    runtime = stack.connector.runtime
    poller = AxisPoller(runtime.service, PartnerSecrets(runtime.store, runtime.authenticator.box))
    clock = StepClock()
    w = worker(stack, partner_clients, clock)
    sent = stack.send("INCOMING", n=3)
    drain(w)
    stack.sent_document_id = sent.document_id
    yield simulator, server.url, poller, w, clock
    server.stop()


def answering(stack, package):
    """The guide's package from the agency, answering the document the one-stop simulator sent."""
    if isinstance(package, StatusPackage):
        return dataclasses.replace(
            package, response_for=dataclasses.replace(package.response_for, document_id=stack.sent_document_id)
        )
    answers = [dataclasses.replace(package.response_for[0], document_id=stack.sent_document_id)]
    return dataclasses.replace(package, response_for=answers)


def agency_sends(stack, url: str, package, messagetype: str) -> str:
    package = answering(stack, package)
    identity = stack.connector.runtime.dev_keys.identity(AGENCY_ID)
    return AxisClient(url, RECEIVER.system_id, RECEIVER.secret).send_edoc(
        ONESTOP_ID, messagetype, signed(package, identity)
    )


def exchange(stack):
    return stack.connector.runtime.store.exchange_by_document_id(stack.sent_document_id)


def test_statuses_and_the_result_come_back_across_the_axis(stack, axis_stack):
    simulator, url, poller, w, clock = axis_stack
    agency = AxisClient(url, RECEIVER.system_id, RECEIVER.secret)
    [sent] = agency.received()
    assert b"edXML" in agency.get_edoc(sent.doc_id)
    agency.update_status(sent.doc_id, "done")

    status_doc = agency_sends(stack, url, guide.status_package(StatusCode.ARRIVED, dossier(3)), "status")
    [polled] = poller.poll_once()
    assert (polled.doc_id, polled.handled) == (status_doc, Handled.STORED), polled.detail
    assert exchange(stack).state == "arrived" and simulator.edocs[status_doc].status == "done"

    result_doc = agency_sends(stack, url, guide.result_package(dossier(3)), "edoc")
    [polled] = poller.poll_once()
    assert (polled.doc_id, polled.handled) == (result_doc, Handled.STORED), polled.detail
    assert exchange(stack).state == "finished" and simulator.edocs[result_doc].status == "done"

    clock.advance(5)
    drain(w)  # the status and the result reach the one-stop system as from any agency
    relayed = {
        i.operation: i.state for i in stack.connector.runtime.store.outbox_items() if i.system_id == "igate-hungyen"
    }
    assert relayed == {"deliverStatus": "delivered", "deliverResult": "delivered"}
    assert poller.poll_once() == []  # everything acknowledged


def test_a_crash_between_store_and_ack_is_replayed_without_a_duplicate(stack, axis_stack):
    simulator, url, poller, w, clock = axis_stack
    status_doc = agency_sends(stack, url, guide.status_package(StatusCode.ARRIVED, dossier(3)), "status")
    acknowledge = poller.acknowledge

    def crash(client, doc_id, status, why):
        raise requests.ConnectionError("the connector died before updateStatus")

    poller.acknowledge = crash
    [polled] = poller.poll_once()
    assert polled.handled is Handled.LEFT and exchange(stack).state == "arrived"
    assert simulator.edocs[status_doc].status == "new"  # the axis still offers it

    poller.acknowledge = acknowledge  # the restarted connector polls again
    [polled] = poller.poll_once()
    assert polled.handled is Handled.STORED and simulator.edocs[status_doc].status == "done"
    store = stack.connector.runtime.store
    events = [e for e in store.timeline(exchange(stack).exchange_id) if e.state == "arrived" and e.actor != "connector"]
    assert len(events) == 1
    assert len([i for i in store.outbox_items() if i.operation == "deliverStatus"]) == 1  # relayed once


def test_a_refused_package_is_answered_fail_with_the_reason(stack, axis_stack):
    simulator, url, poller, w, clock = axis_stack
    doc = AxisClient(url, RECEIVER.system_id, RECEIVER.secret).send_edoc(ONESTOP_ID, "status", b"<not-edxml/>")
    [polled] = poller.poll_once()
    assert polled.handled is Handled.REFUSED and polled.detail.startswith("Client.")
    assert simulator.edocs[doc].status == "fail" and simulator.edocs[doc].description.startswith("Client.")
