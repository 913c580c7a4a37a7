"""The recall (thu hồi) in the exchange state machine: 13 asks for the document back, 15 gives it
back (final), 16 refuses and the exchange carries on from where the recall found it; and an
organisation's other code (aliases) finds the same organisation."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from connector.edxml import StatusCode
from connector.errors import ErrorCode
from connector.exchange.directory import Directory, OrganizationEntry
from connector.exchange.states import ExchangeState, IllegalTransitionError, next_state, state_before_recall
from simulators import guide
from testkit.faults import refused_call
from tests.service.conftest import AGENCY, ONESTOP, send_request, status_request

S = ExchangeState


@pytest.mark.parametrize(
    ("current", "code", "before", "expected"),
    [
        (S.ARRIVED, StatusCode.TAKEN_BACK, None, S.TAKEN_BACK),
        (S.TAKEN_BACK, StatusCode.CHANGE_ACCEPTED, S.ARRIVED, S.RECALLED),
        (S.TAKEN_BACK, StatusCode.CHANGE_REFUSED, S.ASSIGNED, S.ASSIGNED),
        (S.TAKEN_BACK, StatusCode.CHANGE_REFUSED, None, S.ACCEPTED),
        (S.REVOKED, StatusCode.CHANGE_ACCEPTED, None, S.REVOKED),  # the answer to a revocation: recorded
        (S.IN_PROGRESS, StatusCode.CHANGE_REFUSED, None, S.IN_PROGRESS),  # the answer to an update
    ],
)
def test_legal_recall_transitions(current, code, before, expected):
    assert next_state(current, code, before).new_state is expected


@pytest.mark.parametrize(
    ("current", "code"),
    [
        (S.TAKEN_BACK, StatusCode.ASSIGNED),  # nothing happens to a document being recalled
        (S.TAKEN_BACK, StatusCode.TAKEN_BACK),
        (S.RECALLED, StatusCode.ARRIVED),
        (S.RECALLED, StatusCode.TAKEN_BACK),
        (S.FINISHED, StatusCode.TAKEN_BACK),
    ],
)
def test_illegal_recall_transitions(current, code):
    with pytest.raises(IllegalTransitionError):
        next_state(current, code)


def test_the_state_before_a_recall_is_read_from_the_timeline():
    assert state_before_recall([S.ACCEPTED, S.ARRIVED, S.REGISTERED, S.TAKEN_BACK, S.TAKEN_BACK]) is S.REGISTERED
    assert state_before_recall([S.TAKEN_BACK]) is None


def status(signed, code: StatusCode, minute: int = 0) -> object:
    package = guide.status_package(code, at=guide.RECEIVED_AT + timedelta(minutes=minute))
    if code is StatusCode.TAKEN_BACK:  # the sender's act: from the one-stop centre
        package = dataclasses.replace(package, sender=guide.ONESTOP)
    return status_request(signed(package))


def test_a_refused_recall_resumes_and_an_accepted_one_ends(service, signed, runtime):
    exchange_id = service.send_document(send_request(signed(guide.send_package())), ONESTOP).receipt.exchange_id
    service.update_status(status(signed, StatusCode.ARRIVED), AGENCY)
    service.update_status(status(signed, StatusCode.ACCEPTED), AGENCY)
    service.update_status(status(signed, StatusCode.TAKEN_BACK), ONESTOP)
    assert runtime.store.exchange(exchange_id).state == S.TAKEN_BACK
    refused_call(ErrorCode.ILLEGAL_TRANSITION, service.update_status, status(signed, StatusCode.ASSIGNED), AGENCY)

    service.update_status(status(signed, StatusCode.CHANGE_REFUSED), AGENCY)  # 16: the agency keeps it
    assert runtime.store.exchange(exchange_id).state == S.REGISTERED
    service.update_status(status(signed, StatusCode.ASSIGNED), AGENCY)  # and carries on

    service.update_status(status(signed, StatusCode.TAKEN_BACK, minute=5), ONESTOP)  # a second recall
    service.update_status(status(signed, StatusCode.CHANGE_ACCEPTED, minute=6), AGENCY)  # 15: given back
    assert runtime.store.exchange(exchange_id).state == S.RECALLED
    refused_call(ErrorCode.ILLEGAL_TRANSITION, service.update_status, status(signed, StatusCode.IN_PROGRESS), AGENCY)


def test_an_organisations_alias_finds_it_and_its_systems(runtime):
    store = runtime.store
    stp = store.organization(guide.AGENCY.organ_id)
    store.import_directory(Directory(organizations=[dataclasses.replace(stp, aliases=("G07.31.H31",))]))
    assert store.organization("G07.31.H31").organ_id == guide.AGENCY.organ_id
    assert store.system_for("G07.31.H31", AGENCY.kind).system_id == AGENCY.system_id
    assert store.organization("G07.99.H31") is None
    [entry] = [o for o in store.directory().organizations if o.organ_id == guide.AGENCY.organ_id]
    assert entry.aliases == ("G07.31.H31",) and isinstance(entry, OrganizationEntry)


def test_a_package_under_the_organisations_other_code_speaks_for_the_caller(runtime):
    from connector.errors import ConnectorError
    from connector.exchange.authorisation import require_own_organisation

    store = runtime.store
    onestop = store.organization(guide.ONESTOP.organ_id)
    store.import_directory(Directory(organizations=[dataclasses.replace(onestop, aliases=("H31.13",))]))
    require_own_organisation(ONESTOP, "H31.13", store.organization)  # the old code of the same centre
    with pytest.raises(ConnectorError):
        require_own_organisation(ONESTOP, "H31.13")  # without the directory: another organisation
    with pytest.raises(ConnectorError):
        require_own_organisation(ONESTOP, guide.AGENCY.organ_id, store.organization)
