"""The package stages every write operation runs first (``connector.exchange.pipeline``): a package is
used only if its signature verifies and what it signs is valid edXML; a refusal stores nothing."""

from __future__ import annotations

from datetime import date

from connector.edxml import build
from connector.errors import ErrorCode
from connector.exchange.pipeline import FAULT_OF_REASON
from signing import Reason
from simulators import guide
from testkit.faults import refused_call
from tests.service.conftest import ONESTOP, send_request


def nothing_stored(runtime) -> bool:
    return runtime.store.exchanges_for_dossier(guide.DOSSIER_CODE) == [] and runtime.store.outbox_items() == []


def test_a_signed_guide_package_is_accepted(service, signed, runtime):
    receipt = service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    assert receipt.receipt.state == "accepted"
    assert runtime.store.exchange(receipt.receipt.exchange_id).document_id == guide.send_package().document_id


def test_an_unsigned_package_is_refused(service, runtime):
    error = refused_call(
        ErrorCode.SIGNATURE_INVALID, service.send_document, send_request(build(guide.send_package())), ONESTOP
    )
    assert error.message.startswith("UNSIGNED") and error.field == "package/Signature"
    assert nothing_stored(runtime)


def test_a_changed_byte_after_signing_is_a_digest_mismatch(service, signed, runtime):
    tampered = signed(guide.send_package()).replace(b"LT_iGate", b"LT_iGatX")
    assert (
        "DIGEST_MISMATCH"
        in refused_call(ErrorCode.SIGNATURE_INVALID, service.send_document, send_request(tampered), ONESTOP).message
    )
    assert nothing_stored(runtime)


def test_a_package_signed_by_another_organisation_is_a_sender_mismatch(service, signed, runtime):
    package = signed(guide.send_package(), organ_id=guide.AGENCY.organ_id, check_sender=False)
    error = refused_call(ErrorCode.SENDER_MISMATCH, service.send_document, send_request(package), ONESTOP)
    assert error.message.startswith(Reason.SIGNER_MISMATCH) and guide.ONESTOP.organ_id in error.message
    assert nothing_stored(runtime)


def test_signature_reasons_map_to_fault_codes_through_one_table():
    assert FAULT_OF_REASON[Reason.PINNED_SIGNER_MISMATCH] == (ErrorCode.SENDER_MISMATCH, "package/Signature")
    assert FAULT_OF_REASON[Reason.DOCUMENT_TOO_LARGE][0] is ErrorCode.TOO_LARGE
    assert Reason.DIGEST_MISMATCH not in FAULT_OF_REASON  # the default: SIGNATURE_INVALID


def test_a_promulgation_date_in_the_future_is_package_invalid(service, signed, runtime):
    package = guide.send_package()
    package.promulgation.date = date(2999, 1, 1)
    error = refused_call(ErrorCode.PACKAGE_INVALID, service.send_document, send_request(signed(package)), ONESTOP)
    assert "PromulgationDate 2999/01/01 is in the future" in error.message
    assert nothing_stored(runtime)


def test_a_broken_attachment_names_the_file(service, signed, runtime):
    data = build(guide.send_package())
    start = data.index(b"<edXML:ContentTransferEncoded>") + len(b"<edXML:ContentTransferEncoded>")
    broken = data[:start] + b"UEsDBBQAAAAIAA==" + data[data.index(b"</edXML:ContentTransferEncoded>") :]
    error = refused_call(ErrorCode.ATTACHMENT_INVALID, service.send_document, send_request(signed(broken)), ONESTOP)
    assert "DM_1669450153.pdf" in error.message
    assert nothing_stored(runtime)


def test_a_manifest_that_names_another_attachment_is_refused(service, signed, runtime):
    data = build(guide.send_package()).replace(b"<edXML:ContentId>cid:", b"<edXML:ContentId>cid:other-", 1)
    refused_call(ErrorCode.MANIFEST_MISMATCH, service.send_document, send_request(signed(data)), ONESTOP)
    assert nothing_stored(runtime)


def test_a_status_package_is_not_a_document(service, signed):
    status = signed(guide.status_package(guide.StatusCode.ARRIVED))
    error = refused_call(ErrorCode.PACKAGE_INVALID, service.send_document, send_request(status), ONESTOP)
    assert "sendDocument needs a document package" in error.message
