"""Hostile input, authorisation family: an authenticated system acts only for its own
organisation, in its own role, on its own items. Acts outside its rights are
``Client.Forbidden``; exchanges and items of other parties are answered exactly as if they did
not exist. Every case leaves every business row as it was (the caller's nonce is recorded)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import zeep

from connector.edxml import Organization, StatusCode
from connector.errors import ErrorCode
from connector.exchange.directory import Directory, SystemEntry, SystemKind
from simulators import guide
from testkit.faults import documented_code
from testkit.live import AGENCY, ONESTOP, PULL_AGENCY
from testkit.net import new_id
from tests.security.conftest import unchanged
from tests.soap.test_guide_cases import DOSSIER
from tests.soap.test_pull import UBND, send_to_pull_system

FORBIDDEN = ErrorCode.FORBIDDEN
NONCES = ("auth_nonces",)  # an authenticated call spends its nonce; nothing else may change
ISSUE = {
    "numberSymbol": "22/CV_LT_MOTCUA",
    "issueDate": date(2022, 11, 26),
    "signerName": "phochutich",
    "documentIdentifier": guide.RESULT_IDENTIFIER,
}


def fault(code: ErrorCode, call, **kwargs) -> str:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call(**kwargs)
    assert documented_code(caught.value) == code.value, caught.value.message
    return caught.value.message


def send_args(connector, package=None, **dossier) -> dict:
    return dict(
        messageId=new_id(),
        edxmlPackage=package or connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER | dossier,
    )


def result_args(connector, package=None) -> dict:
    return dict(
        messageId=new_id(),
        edxmlPackage=package or connector.sign(guide.result_package()),
        onestopNumber=guide.ONESTOP_DOSSIER_NUMBER,
        issue=ISSUE,
    )


def status_args(connector, code: StatusCode, sender: Organization | None = None) -> dict:
    package = guide.status_package(code)
    if sender is not None:
        package.sender = sender
    return dict(messageId=new_id(), edxmlPackage=connector.sign(package))


@pytest.fixture
def sent(connector):
    """The guide's dossier, sent by the one-stop and routed to the agency (eoffice-stp)."""
    return connector.client(ONESTOP).service.sendDocument(**send_args(connector))


# ---- roles ---------------------------------------------------------------------------
@pytest.mark.parametrize("system", [AGENCY, PULL_AGENCY, "eoffice-vanlam"])
def test_only_one_stop_systems_send_dossiers(connector, system):
    client, args = connector.client(system), send_args(connector)
    with unchanged(connector, NONCES):
        assert "sendDocument is for one-stop systems" in fault(FORBIDDEN, client.service.sendDocument, **args)


def test_the_role_is_checked_before_the_package_is_looked_at(connector):
    """A forbidden caller learns nothing about its package: not even that it is not base64 edXML."""
    client = connector.client(AGENCY)
    with unchanged(connector, NONCES):
        fault(FORBIDDEN, client.service.sendDocument, **send_args(connector, package=b"not a package"))


def test_only_document_management_systems_publish_results(connector, sent):
    client, args = connector.client(ONESTOP), result_args(connector)
    with unchanged(connector, NONCES):
        assert "publishResult is for document-management systems" in fault(
            FORBIDDEN, client.service.publishResult, **args
        )


# ---- own organisation ----------------------------------------------------------------
def test_a_one_stop_system_cannot_send_for_another_organisation(connector):
    """The agency's own, validly signed package, sent by the one-stop system."""
    package = guide.send_package()
    package.sender = guide.AGENCY
    client, args = connector.client(ONESTOP), send_args(connector, connector.sign(package))
    with unchanged(connector, NONCES):
        assert "acts for 000.00.13.H31" in fault(FORBIDDEN, client.service.sendDocument, **args)


def test_a_document_management_system_cannot_publish_for_another_agency(connector, sent):
    result = guide.result_package()
    result.sender = UBND  # signed by UBND's own key, sent by the Sở Tư pháp's system
    client, args = connector.client(AGENCY), result_args(connector, connector.sign(result))
    with unchanged(connector, NONCES):
        fault(FORBIDDEN, client.service.publishResult, **args)


def test_a_status_signed_for_another_organisation(connector, sent):
    client, args = connector.client(AGENCY), status_args(connector, StatusCode.ARRIVED, UBND)
    with unchanged(connector, NONCES):
        fault(FORBIDDEN, client.service.updateStatus, **args)


# ---- statuses from the side entitled -------------------------------------------------
@pytest.mark.parametrize("code", [StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.FINISHED])
def test_the_one_stop_cannot_send_the_agencys_statuses(connector, sent, code):
    client, args = connector.client(ONESTOP), status_args(connector, code, guide.ONESTOP)
    with unchanged(connector, NONCES):
        assert "receiver's docmgmt system" in fault(FORBIDDEN, client.service.updateStatus, **args)


def test_the_agency_cannot_take_the_document_back(connector, sent):
    client, args = connector.client(AGENCY), status_args(connector, StatusCode.TAKEN_BACK)
    with unchanged(connector, NONCES):
        assert "sender's onestop system" in fault(FORBIDDEN, client.service.updateStatus, **args)


# ---- other parties' exchanges are unknown, exactly as missing ones --------------------
def test_another_agency_cannot_publish_on_an_exchange_not_routed_to_it(connector, sent):
    result = guide.result_package()
    result.sender = UBND
    client, args = connector.client(PULL_AGENCY), result_args(connector, connector.sign(result))
    with unchanged(connector, NONCES):
        message = fault(ErrorCode.UNKNOWN_DOCUMENT, client.service.publishResult, **args)
    assert message.startswith("no exchange for ResponseFor/DocumentId")


def test_another_agency_cannot_move_an_exchange_not_routed_to_it(connector, sent):
    client, args = connector.client(PULL_AGENCY), status_args(connector, StatusCode.ARRIVED, UBND)
    with unchanged(connector, NONCES):
        seen = fault(ErrorCode.UNKNOWN_DOCUMENT, client.service.updateStatus, **args)
    missing = guide.status_package(StatusCode.ARRIVED, guide.Dossier("Nowhere-1", "1", "x", "cbtiepnhan"))
    missing.sender = UBND
    unseen = fault(
        ErrorCode.UNKNOWN_DOCUMENT,
        client.service.updateStatus,
        messageId=new_id(),
        edxmlPackage=connector.sign(missing),
    )
    assert seen.split("'")[0] == unseen.split("'")[0]  # the same sentence; only the id differs


@pytest.mark.parametrize("by", ["messageId", "dossierCode"])
def test_get_status_answers_only_parties(connector, sent, by):
    value = sent.messageId if by == "messageId" else guide.DOSSIER_CODE
    client = connector.client(PULL_AGENCY)
    with unchanged(connector, NONCES):
        seen = fault(ErrorCode.UNKNOWN_DOCUMENT, client.service.getStatus, **{by: value})
        unseen = fault(ErrorCode.UNKNOWN_DOCUMENT, client.service.getStatus, **{by: "does-not-exist"})
    assert seen.replace(value, "X") == unseen.replace("does-not-exist", "X")


@pytest.mark.parametrize("system", [ONESTOP, AGENCY])
def test_both_parties_read_the_exchange(connector, sent, system):
    assert connector.client(system).service.getStatus(messageId=sent.messageId).exchangeId == sent.messageId


def test_another_system_reusing_a_message_id_gets_no_receipt(connector):
    """A second one-stop system of the same organisation replays the first one's request."""
    store = connector.runtime.store
    igate = store.system(ONESTOP)
    store.import_directory(Directory(systems=[dataclasses.replace(igate, system_id="igate-backup", endpoint=None)]))
    args = send_args(connector)
    connector.client(ONESTOP).service.sendDocument(**args)
    client = connector.client("igate-backup")
    with unchanged(connector, NONCES):
        fault(ErrorCode.DUPLICATE_MESSAGE, client.service.sendDocument, **args)


# ---- agencies the one-stop system is connected to ------------------------------------
def test_a_one_stop_system_reaches_only_its_agencies(connector):
    store = connector.runtime.store
    igate = store.system(ONESTOP)
    store.import_directory(Directory(systems=[dataclasses.replace(igate, agencies=("000.00.00.H31",))]))
    client, args = connector.client(ONESTOP), send_args(connector)
    with unchanged(connector, NONCES):
        message = fault(FORBIDDEN, client.service.sendDocument, **args)
    assert "not connected to agency 000.00.31.H31" in message


def test_a_one_stop_system_with_no_agencies_reaches_none(connector):
    store = connector.runtime.store
    store.import_directory(Directory(systems=[SystemEntry("igate-new", guide.ONESTOP.organ_id, SystemKind.ONESTOP)]))
    client, args = connector.client("igate-new"), send_args(connector)
    with unchanged(connector, NONCES):
        fault(FORBIDDEN, client.service.sendDocument, **args)


# ---- pull: the caller's own system and items only ------------------------------------
@pytest.fixture
def pending(connector):
    """An item pending for the pull system eoffice-ubnd."""
    send_to_pull_system(connector, connector.client(ONESTOP))
    [item] = connector.client(PULL_AGENCY).service.listPending(systemId=PULL_AGENCY)
    return item


@pytest.mark.parametrize("caller", [ONESTOP, AGENCY, "eoffice-vanlam"])
@pytest.mark.parametrize("operation", ["listPending", "fetchPending", "acknowledge"])
def test_system_id_must_be_the_callers_own(connector, pending, caller, operation):
    args = {"systemId": PULL_AGENCY}
    if operation != "listPending":
        args["itemId"] = pending.itemId
    if operation == "acknowledge":
        args["outcome"] = "DONE"
    client = connector.client(caller)
    with unchanged(connector, NONCES):
        assert "must be the calling system's own" in fault(FORBIDDEN, getattr(client.service, operation), **args)


@pytest.mark.parametrize("operation", ["fetchPending", "acknowledge"])
def test_another_systems_item_under_ones_own_id_is_unknown(connector, pending, operation):
    client = connector.client(AGENCY)
    args = {"systemId": AGENCY, "itemId": pending.itemId} | ({"outcome": "DONE"} if operation == "acknowledge" else {})
    with unchanged(connector, NONCES):
        seen = fault(ErrorCode.UNKNOWN_ITEM, getattr(client.service, operation), **args)
        unseen = fault(ErrorCode.UNKNOWN_ITEM, getattr(client.service, operation), **(args | {"itemId": 987654}))
    assert seen.replace(str(pending.itemId), "N") == unseen.replace("987654", "N")


def test_an_unknown_system_id_is_forbidden_not_unknown(connector):
    """Whether a system id exists is not revealed: any id but one's own is forbidden."""
    client = connector.client(PULL_AGENCY)
    with unchanged(connector, NONCES):
        fault(FORBIDDEN, client.service.listPending, systemId="no-such-system")
