"""Where sendDocument puts a dossier's document (``connector.exchange.routing``), and the refusals that
name what is missing from the directory."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

from connector.auth import Caller
from connector.errors import ErrorCode
from connector.exchange.states import DocumentKind
from simulators import guide
from testkit.faults import refused_call
from tests.service.conftest import DOSSIER, ONESTOP, send_request


def test_incoming_goes_to_the_agency_clerks_registration_queue(service, signed):
    receipt = service.send_document(send_request(signed(guide.send_package())), ONESTOP).receipt
    assert (receipt.agency_id, receipt.queue, receipt.target_account) == (
        guide.AGENCY.organ_id,
        "registration",
        "vanthu.stp",
    )


def test_outgoing_goes_to_the_drafts_of_the_officer_with_the_senders_username(service, signed):
    receipt = service.send_document(send_request(signed(guide.send_package()), DocumentKind.OUTGOING), ONESTOP).receipt
    assert (receipt.queue, receipt.target_account) == ("drafts", "cbtiepnhan")


def test_an_unknown_sender_organisation_is_refused(service, signed):
    package = guide.send_package()
    package.sender.organ_id = "000.00.99.H31"  # the connector's own identity: trusted, not in the directory
    # A system registered for an organisation the organisation directory lacks.
    rogue = Caller(dataclasses.replace(ONESTOP.system, system_id="rogue", organ_id="000.00.99.H31"), ONESTOP.method)
    error = refused_call(ErrorCode.UNKNOWN_ORGANIZATION, service.send_document, send_request(signed(package)), rogue)
    assert error.field == "package/MessageHeader/From/OrganId"


def test_an_unknown_username_names_the_user_and_the_system(service, signed, runtime):
    request = send_request(signed(guide.send_package()), DocumentKind.OUTGOING, username="nobody")
    error = refused_call(ErrorCode.UNKNOWN_ACCOUNT, service.send_document, request, ONESTOP)
    assert "'nobody'" in error.message and "eoffice-stp" in error.message
    assert runtime.store.outbox_items() == []


def test_an_unknown_procedure_is_refused(service, signed):
    dossier = replace(DOSSIER, procedure_code="9.999999.000.00.00.H31")
    refused_call(
        ErrorCode.UNKNOWN_PROCEDURE,
        service.send_document,
        send_request(signed(guide.send_package()), dossier=dossier),
        ONESTOP,
    )


def test_a_procedure_without_interconnection_is_refused_by_name(service, signed):
    dossier = replace(DOSSIER, procedure_code="dd_2022_02")
    error = refused_call(
        ErrorCode.INTERCONNECTION_DISABLED,
        service.send_document,
        send_request(signed(guide.send_package()), dossier=dossier),
        ONESTOP,
    )
    assert "dd_2022_02" in error.message
