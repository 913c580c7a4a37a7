"""Issue 22, items 1 and 6: every way a partner call can end – any HTTP status, any body, any
exception – ends as a recorded attempt with a classified outcome, and a failed answer keeps its
evidence (status, content type, the first bytes of the body). The connector and the partner are
real HTTP servers; the worker's clock is moved instead of waiting for the schedule."""

from __future__ import annotations

import pytest

from connector.delivery.clients import PartnerClients, Timeouts
from connector.store import BreakerState
from testkit.clock import StepClock
from tests.badday.fake_partner import Answer, FakePartner, fault, soap
from tests.partners.test_delivery_failures import document_item, point_docmgmt_at, worker

EMPTY_RESPONSE = soap("<tns:deliverDocumentResponse/>")
NO_REFERENCE = soap(
    "<tns:deliverDocumentResponse><tns:accepted><tns:duplicate>false</tns:duplicate>"
    "</tns:accepted></tns:deliverDocumentResponse>"
)
PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>" + b"x" * 400

# (answer, the recorded kind, what the recorded error must also show, retried?)
CASES = {
    "200 without <accepted>": (Answer(body=EMPTY_RESPONSE), "protocol", "no <accepted>", True),
    "200 <accepted> without reference": (Answer(body=NO_REFERENCE), "protocol", "HTTP 200", True),
    "202 with nothing": (Answer(status=202, body=b""), "protocol", "no <accepted>", True),
    "200 empty body": (Answer(body=b""), "protocol", "HTTP 200", True),
    "200 HTML (a captive portal)": (
        Answer(content_type="text/html", body=b"<html><body>Please log in</body></html>"),
        "protocol",
        "HTTP 200 text/html: '<html><body>Please log in",
        True,
    ),
    "200 garbage": (
        Answer(content_type="application/octet-stream", body=b"\x00\xff\x17garbage"),
        "protocol",
        "HTTP 200 application/octet-stream",
        True,
    ),
    "500 HTML error page": (
        Answer(status=500, content_type="text/html", body=PROXY_PAGE),
        "http",
        "HTTP 500 text/html: '<html><head><title>502 Bad Gateway</title>",
        True,
    ),
    "502 HTML from a gateway": (
        Answer(status=502, content_type="text/html", body=PROXY_PAGE),
        "http",
        "HTTP 502 text/html: '<html>",
        True,
    ),
    "503 empty": (
        Answer(status=503, content_type="text/plain", body=b""),
        "http",
        "HTTP 503 text/plain, empty body",
        True,
    ),
    "404 text": (
        Answer(status=404, content_type="text/plain", body=b"no such path"),
        "http",
        "HTTP 404 text/plain: 'no such path'",
        True,
    ),
    "500 XML that is no fault": (Answer(status=500, body=soap("<tns:oops/>")), "http", "HTTP 500", True),
    "500 SOAP Server fault": (
        Answer(status=500, body=fault("Server", "database busy")),
        "server-fault",
        "Server: database busy",
        True,
    ),
    "500 SOAP Client fault": (
        Answer(status=500, body=fault("Client.Rejected", "no such account")),
        "client-fault",
        "Client.Rejected: no such account",
        False,
    ),
    "connection cut mid-answer": (Answer(cut=True), "transport", "ConnectionError", True),
}


@pytest.fixture(scope="module")
def quick_clients() -> PartnerClients:
    return PartnerClients(Timeouts(connect=2, read=5))


def test_every_answer_ends_as_a_recorded_classified_attempt(stack, quick_clients):
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, quick_clients, clock, breaker_threshold=100, backoff_base=1, backoff_max=1)
    store = stack.connector.runtime.store
    attempts = 0
    for name, (answer, kind, evidence, retried) in CASES.items():
        with FakePartner(answer) as partner:
            point_docmgmt_at(stack, partner.url)
            clock.advance(5)
            if not retried:
                continue  # checked below, last: it ends the item
            assert w.run_once() is not None, name
            attempts += 1
            item = document_item(stack)
            assert (item.state, item.attempts, partner.calls) == ("pending", attempts, 1), name
            assert item.last_error.startswith(f"{kind}:") or f"[{kind}" in item.last_error, (name, item.last_error)
            assert evidence in item.last_error, (name, item.last_error)
            recorded = store.attempts(item.item_id)
            assert len(recorded) == attempts and recorded[-1]["outcome"] == "retry", name
    answer, kind, evidence, _ = CASES["500 SOAP Client fault"]
    with FakePartner(answer) as partner:
        point_docmgmt_at(stack, partner.url)
        clock.advance(5)
        w.run_once()
    item = document_item(stack)
    assert item.state == "dead" and evidence in item.last_error and f"[{kind}; HTTP 500" in item.last_error


def test_a_partner_that_never_confirms_opens_the_breaker_and_dead_letters_at_the_horizon(stack, quick_clients):
    """An empty 200 is no delivery: it counts against the partner's breaker, and the item is
    dead-lettered at the first failure past the horizon instead of being re-sent forever."""
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(
        stack,
        quick_clients,
        clock,
        breaker_threshold=3,
        probe_interval=30,
        backoff_base=1,
        backoff_max=1,
        retry_horizon=120,
    )
    store = stack.connector.runtime.store
    with FakePartner(Answer(body=EMPTY_RESPONSE)) as partner:
        point_docmgmt_at(stack, partner.url)
        for _ in range(3):
            w.run_once()
            clock.advance(2)
        assert store.partner_queue("eoffice-stp").breaker is BreakerState.OPEN
        assert w.run_once() is None  # open: nothing until the probe interval has passed
        assert partner.calls == 3
        clock.advance(200)  # past the horizon: the probe's failure dead-letters the item
        w.run_once()
    item = document_item(stack)
    assert (item.state, item.attempts) == ("dead", 4)
    assert "gave up" in " ".join(e.note or "" for e in store.timeline(item.exchange_id))
    assert item.last_error.startswith("protocol: the partner's answer has no <accepted> element")
