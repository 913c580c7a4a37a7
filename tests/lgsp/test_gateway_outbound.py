"""Calling a partner through a WSO2-like gateway (simulators/gateway.py over real HTTP): OAuth2
client credentials, tokens that expire, a 401 answered with one fresh token and one retry, 429s
that hold the lane, wrong credentials that open the breaker and dead-letter nothing."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from connector.delivery.gateway import retry_after
from connector.delivery.oauth import TokenSource
from connector.exchange.directory import PartnerAuth, PartnerAuthType
from connector.ops.metrics import EVENTS
from connector.store import BreakerState
from testkit.clock import StepClock
from tests.lgsp.gatewaykit import (
    AGENCY,
    CLIENT,
    document_items,
    drain,
    route_through,
    set_secret,
    start_gateway,
    worker,
)


@pytest.fixture
def gateway(stack):
    gw = start_gateway(stack.docmgmt_url, token_ttl=3600)
    yield gw
    gw.stop()


def metric(name: str, **labels) -> float:
    return EVENTS.get_sample_value(name, labels) or 0.0


def test_a_document_reaches_the_partner_through_the_gateway_with_token_and_static_headers(
    stack, gateway, partner_clients
):
    route_through(stack, gateway, headers=(("lgspaccesstoken", "${LGSP_ACCESS}"), ("X-SystemId", "lienthong")))
    fetched = metric("connector_partner_token_fetches_total", system_id=AGENCY, outcome="ok")
    stack.send("INCOMING")
    w = worker(stack, partner_clients, StepClock(), environ={"LGSP_ACCESS": "eyJBY2Nlc3NLZXkiOiJrIn0="})
    drain(w)

    [item] = document_items(stack)
    assert item.state == "delivered"
    assert gateway.simulator.stats["tokens"] == 1 and gateway.simulator.stats["forwarded"] == 1
    seen = gateway.simulator.seen[-1]
    assert seen["authorization"].startswith("Bearer ")
    assert seen["lgspaccesstoken"] == "eyJBY2Nlc3NLZXkiOiJrIn0=" and seen["x-systemid"] == "lienthong"
    assert metric("connector_partner_token_fetches_total", system_id=AGENCY, outcome="ok") == fetched + 1


def test_a_missing_environment_variable_in_a_header_holds_the_items(stack, gateway, partner_clients):
    route_through(stack, gateway, headers=(("lgspaccesstoken", "${NOT_SET_ANYWHERE}"),))
    stack.send("INCOMING")
    drain(worker(stack, partner_clients, StepClock()))
    [item] = document_items(stack)
    assert item.state == "pending" and "NOT_SET_ANYWHERE" in item.last_error
    assert gateway.simulator.stats["forwarded"] == 0


def test_tokens_that_expire_mid_run_are_refreshed_before_the_gateway_refuses_them(stack, partner_clients):
    gw = start_gateway(stack.docmgmt_url, token_ttl=2)
    try:
        route_through(stack, gw)
        clock = StepClock()
        w = worker(stack, partner_clients, clock)
        stack.send("INCOMING", n=3)
        drain(w)
        time.sleep(2.2)  # the first token has expired
        stack.send("INCOMING", n=4)
        clock.advance(3)
        drain(w)
        assert [i.state for i in document_items(stack)] == ["delivered", "delivered"]
        assert gw.simulator.stats["tokens"] == 2
        assert gw.simulator.stats["401"] == 0  # refreshed before use, never refused
    finally:
        gw.stop()


def test_a_401_costs_exactly_one_fresh_token_and_one_retry(stack, gateway, partner_clients):
    route_through(stack, gateway)
    clock = StepClock()
    w = worker(stack, partner_clients, clock)
    stack.send("INCOMING", n=3)
    drain(w)
    refused = metric("connector_partner_gateway_refusals_total", system_id=AGENCY, status="401")
    gateway.simulator.revoke_all()  # the gateway restarted: the cached token is no longer known
    stack.send("INCOMING", n=4)
    clock.advance(5)
    drain(w)

    first, second = document_items(stack)
    assert (second.state, second.attempts) == ("delivered", 1)  # the retry is within the same attempt
    assert gateway.simulator.stats["tokens"] == 2 and gateway.simulator.stats["401"] == 1
    assert gateway.simulator.stats["forwarded"] == 2
    assert metric("connector_partner_gateway_refusals_total", system_id=AGENCY, status="401") == refused + 1


def test_the_token_is_shared_by_the_partners_threads_and_fetched_once(stack, gateway):
    set_secret_for = {"ok": CLIENT.client_secret}
    source = TokenSource(
        AGENCY,
        PartnerAuth(PartnerAuthType.OAUTH2, token_url=f"{gateway.url}/token", client_id=CLIENT.client_id),
        lambda: set_secret_for["ok"],
        (5, 30),
    )
    tokens: list[str] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        tokens.append(source.token())

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and gateway.simulator.stats["tokens"] == 1
    source.invalidate(tokens[0])
    source.invalidate(tokens[0])  # a second thread that saw the same refusal changes nothing
    assert source.token() != tokens[0] and gateway.simulator.stats["tokens"] == 2


def test_a_form_client_auth_fetches_too(stack, gateway):
    auth = PartnerAuth.from_json(
        {"type": "oauth2", "token_url": f"{gateway.url}/token", "client_id": CLIENT.client_id, "client_auth": "form"}
    )
    assert TokenSource(AGENCY, auth, lambda: CLIENT.client_secret, (5, 30)).token()


def test_a_429_holds_the_lane_for_retry_after_then_delivers(stack, partner_clients):
    gw = start_gateway(stack.docmgmt_url, throttle_every=1, retry_after=30)
    try:
        route_through(stack, gw)
        clock = StepClock()
        w = worker(stack, partner_clients, clock)
        stack.send("INCOMING")
        drain(w)
        [item] = document_items(stack)
        assert (
            (item.state, item.attempts) == ("pending", 1) and "429" in item.last_error and "900802" in item.last_error
        )
        assert 29 <= (item.next_attempt_at - clock.now).total_seconds() <= 31
        assert w.lanes[AGENCY].held_until is not None
        assert metric("connector_partner_gateway_refusals_total", system_id=AGENCY, status="429") >= 1
        clock.advance(10)
        assert w.run_once() is None  # still held
        gw.simulator.config.throttle_every = 0
        clock.advance(21)
        drain(w)
        assert document_items(stack)[0].state == "delivered"
        assert w.lanes[AGENCY].breaker.state is BreakerState.CLOSED  # throttling is not an outage
    finally:
        gw.stop()


def test_the_wait_of_a_429_comes_from_retry_after_or_the_wso2_code():
    assert retry_after({"Retry-After": "7"}, 900802, "") == 7
    assert retry_after({}, 900807, "") == 1  # burst control
    assert retry_after({}, 900805, "") == 600  # blocked at the gateway
    assert retry_after({}, None, "") == 60


def test_a_wrong_secret_opens_the_breaker_and_dead_letters_nothing(stack, gateway, partner_clients):
    route_through(stack, gateway, secret="not-the-secret")
    clock = StepClock()
    w = worker(stack, partner_clients, clock, probe_interval=30)
    stack.send("INCOMING")
    drain(w)
    [item] = document_items(stack)
    assert item.state == "pending" and "credentials refused" in item.last_error
    queue = stack.connector.runtime.store.partner_queue(AGENCY)
    assert queue.breaker is BreakerState.OPEN  # at once, not after five failures
    assert gateway.simulator.stats["token_refused"] == 1 and gateway.simulator.stats["forwarded"] == 0

    clock.advance(49 * 3600)  # past the retry horizon: still waiting, never dead
    drain(w)
    [item] = document_items(stack)
    assert item.state == "pending"
    notes = [e.note or "" for e in stack.connector.runtime.store.timeline(item.exchange_id)]
    assert any("waiting for partner eoffice-stp" in n and "credentials refused" in n for n in notes)

    set_secret(stack, CLIENT.client_secret)  # the operator fixes it
    clock.advance(31)
    drain(w)
    assert document_items(stack)[0].state == "delivered"
    assert stack.connector.runtime.store.partner_queue(AGENCY).breaker is BreakerState.CLOSED


def test_a_401_after_a_fresh_token_is_wrong_credentials_not_a_retry_loop(stack, partner_clients):
    gw = start_gateway(stack.docmgmt_url, token_ttl=0)  # every token is refused at once
    try:
        route_through(stack, gw)
        stack.send("INCOMING")
        drain(worker(stack, partner_clients, StepClock()))
        [item] = document_items(stack)
        assert item.state == "pending" and "credentials refused" in item.last_error
        assert gw.simulator.stats["tokens"] == 1 and gw.simulator.stats["401"] == 1  # no second fetch
        assert stack.connector.runtime.store.partner_queue(AGENCY).breaker is BreakerState.OPEN
    finally:
        gw.stop()


def test_a_gateway_error_page_is_a_transport_failure_and_retried(stack, partner_clients):
    gw = start_gateway("http://127.0.0.1:9")  # nothing listens upstream: the gateway answers 502 JSON
    try:
        route_through(stack, gw)
        stack.send("INCOMING")
        drain(worker(stack, partner_clients, StepClock()))
        [item] = document_items(stack)
        assert (item.state, item.attempts) == ("pending", 1)
        assert stack.connector.runtime.store.partner_queue(AGENCY).breaker is BreakerState.CLOSED
    finally:
        gw.stop()


def test_a_soap_client_fault_through_the_gateway_is_still_a_dead_letter(stack, gateway, partner_clients):
    from connector.exchange.directory import Account, Directory
    from tests.partners.conftest import AGENCY_ID

    route_through(stack, gateway)
    stack.connector.runtime.store.import_directory(Directory(accounts=[Account("ghost", AGENCY_ID)]))
    stack.send("OUTGOING", username="ghost")
    drain(worker(stack, partner_clients, StepClock()))
    [item] = document_items(stack)
    assert (item.state, item.attempts) == ("dead", 1) and item.last_error.startswith("Client.")


def test_the_console_shows_a_partner_whose_gateway_refuses_the_credentials(stack, gateway, partner_clients):
    from connector.admin.auth import add_operator
    from connector.clock import utcnow
    from connector.store import OperatorRole

    route_through(stack, gateway, secret="not-the-secret")
    stack.send("INCOMING")
    drain(worker(stack, partner_clients, StepClock()))
    store = stack.connector.runtime.store
    add_operator(store, "an", "mat-khau-van-hanh", OperatorRole.READ_ONLY, utcnow())
    http = requests.Session()
    http.trust_env = False
    csrf = http.get(f"{stack.connector.url}/admin/login").text.split('name="csrf" value="')[1].split('"')[0]
    http.post(
        f"{stack.connector.url}/admin/login", data={"username": "an", "password": "mat-khau-van-hanh", "csrf": csrf}
    )
    page = http.get(f"{stack.connector.url}/admin/outbox").text
    assert f'id="breaker-{AGENCY}"' in page and "credentials refused" in page
