"""The document-management simulator's book-keeping: arrival numbers, what each step allows,
what happens while the connector is down, and the autopilot used by demos."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from simulators import CallOutcome
from simulators.autopilot import Autopilot
from simulators.docmgmt import DocState
from simulators.errors import ActionRefused


def test_arrival_numbers_follow_the_incoming_book_and_restart_each_year(stack):
    stack.clock.pinned = datetime(2023, 12, 31, 16, 30)
    for n in (1, 2):
        stack.send("INCOMING", n)
    stack.deliver()
    stack.clock.pinned = datetime(2024, 1, 2, 8, 0)
    stack.send("INCOMING", 3)
    stack.deliver()

    queue = stack.docmgmt.registration_queue()
    assert [(r.arrival_date, r.arrival_number, r.abstract[-4:]) for r in queue] == [
        (date(2023, 12, 31), 1, "0001"),
        (date(2023, 12, 31), 2, "0002"),
        (date(2024, 1, 2), 1, "0003"),
    ]
    assert [r.reference for r in queue] == ["VBDEN-2023-00001", "VBDEN-2023-00002", "VBDEN-2024-00001"]


def test_outgoing_documents_take_no_arrival_number(stack):
    stack.send("OUTGOING")
    stack.deliver()
    [draft] = stack.docmgmt.drafts()
    assert stack.docmgmt.document(draft).arrival_number is None


def test_each_step_needs_the_one_before(stack):
    stack.send("INCOMING")
    stack.deliver()
    [row] = stack.docmgmt.registration_queue()
    docmgmt = stack.docmgmt

    with pytest.raises(ActionRefused, match="cannot assign"):
        docmgmt.assign(row, "chuyenvien.stp")  # not registered yet
    docmgmt.register(row)
    with pytest.raises(ActionRefused, match="cannot register"):
        docmgmt.register(row)
    with pytest.raises(ActionRefused, match="no account 'nobody'"):
        docmgmt.assign(row, "nobody")
    docmgmt.assign(row, "chuyenvien.stp")
    with pytest.raises(ActionRefused, match="cannot sign"):
        docmgmt.sign(row, "phochutich")  # nothing drafted
    docmgmt.draft_reply(row)
    with pytest.raises(ActionRefused, match="cannot issue"):
        docmgmt.issue(row)  # not signed
    docmgmt.sign(row, "phochutich")
    docmgmt.issue(row, "22/CV_LT_MOTCUA")
    with pytest.raises(ActionRefused, match="cannot issue"):
        docmgmt.issue(row)
    assert docmgmt.document(row).state is DocState.ISSUED


def test_a_number_is_issued_once_a_year(stack):
    for n in (1, 2):
        stack.send("OUTGOING", n)
    stack.deliver()
    first, second = stack.docmgmt.drafts()
    for draft in (first, second):
        stack.docmgmt.sign(draft, "phochutich")
    assert stack.docmgmt.next_number() == "1/CV_LT_MOTCUA"
    stack.docmgmt.issue(first, "22/CV_LT_MOTCUA")
    with pytest.raises(ActionRefused, match="already issued"):
        stack.docmgmt.issue(second, "22/CV_LT_MOTCUA")
    assert stack.docmgmt.next_number() == "23/CV_LT_MOTCUA"


def test_while_the_connector_is_down_statuses_queue_up_and_go_out_in_order(stack):
    sent = stack.send("INCOMING")
    stack.deliver()
    [row] = stack.docmgmt.registration_queue()

    stack.stop_connector()
    registered = stack.docmgmt.register(row)
    assigned = stack.docmgmt.assign(row, "chuyenvien.stp")

    assert registered.outcome is CallOutcome.PENDING and registered.attempts == 1 and registered.error
    assert assigned.outcome is CallOutcome.PENDING and assigned.attempts == 0  # waits behind "registered"
    assert stack.docmgmt.document(row).state is DocState.ASSIGNED  # the agency's own work goes on

    stack.restart_connector()
    retried = stack.docmgmt.retry()

    assert [(c.message_id, c.state) for c in retried] == [
        (registered.message_id, "registered"),
        (assigned.message_id, "assigned"),
    ]
    assert stack.business_states(sent.message_id) == ["accepted", "arrived", "registered", "assigned"]


def test_autopilot_moves_every_document_one_step_per_tick(stack):
    sent = stack.send("INCOMING")
    stack.deliver()
    autopilot = Autopilot(stack.docmgmt)

    ticks = [autopilot.step() for _ in range(6)]

    reference = f"VBDEN-{date.today().year}-00001"
    assert ticks == [
        [f"{reference}: register"],
        [f"{reference}: assign to cbtiepnhan"],
        [f"{reference}: draft reply"],
        [f"{reference}: sign as phochutich"],
        [f"{reference}: issue 1/CV_LT_MOTCUA"],
        [],
    ]
    assert stack.business_states(sent.message_id) == [
        "accepted",
        "arrived",
        "registered",
        "assigned",
        "in_progress",
        "finished",
    ]
