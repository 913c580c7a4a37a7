"""The provincial guide's two cases, end to end: one-stop simulator → connector → document-management
simulator and back, with the connector's outbox worker making the partner calls."""

from __future__ import annotations

from datetime import date

import pytest

from simulators import guide
from simulators.docmgmt import DocState
from simulators.errors import ActionRefused
from tests.partners.conftest import dossier


def test_case_1_incoming_document_waits_for_registration_with_an_arrival_number(stack):
    sent = stack.send("INCOMING")
    assert sent.call.delivered and sent.call.state == "accepted"

    stack.deliver()

    [row] = stack.docmgmt.registration_queue()  # Văn bản đến chờ vào sổ
    assert row.arrival_number == 1 and row.arrival_date == date.today()  # Số đến, Ngày đến
    assert row.number_symbol == "02/LT_iGate"  # Số ký hiệu
    assert row.abstract == "Bo_Thu_Tuc_Cap_Huyen-221126-0003"  # Trích yếu: the dossier code
    assert row.issuer == guide.ONESTOP.organ_name  # Đơn vị ban hành
    assert (row.form, row.urgency) == ("Công văn", "Thường")
    assert row.files == ("DM_1669450153.pdf",)
    assert stack.docmgmt.drafts() == []
    # Arriving is reported at once, and the one-stop hears of it.
    assert stack.business_states(sent.message_id) == ["accepted", "arrived"]
    assert stack.onestop.dossier(dossier()).state == "arrived"


def test_case_1_register_assign_draft_sign_issue_puts_the_result_file_in_the_dossier(stack):
    sent = stack.send("INCOMING")
    stack.deliver()
    [row] = stack.docmgmt.registration_queue()

    assert stack.docmgmt.register(row).state == "registered"  # the clerk: vào sổ
    assert stack.docmgmt.assign(row, "chuyenvien.stp").state == "assigned"
    assert stack.docmgmt.draft_reply(row).state == "in_progress"  # Văn bản trả lời → văn bản đi
    [draft] = stack.docmgmt.drafts()  # Văn bản chờ xử lý
    assert draft.abstract == "Kết quả giải quyết TTHC"
    assert draft.officer == "chuyenvien.stp" and draft.onestop_number == "1948087"
    assert draft.return_to_onestop  # Trả kết quả iGate
    assert stack.docmgmt.sign(draft, "phochutich", "Phó Chủ tịch") is None  # 05 was already said
    published = stack.docmgmt.issue(draft, "22/CV_LT_MOTCUA", document_identifier=guide.RESULT_IDENTIFIER)
    assert published.operation == "publishResult" and published.state == "finished"
    assert stack.docmgmt.drafts() == []

    exchange = stack.exchange(sent.message_id)
    assert stack.business_states(sent.message_id) == [
        "accepted",
        "arrived",
        "registered",
        "assigned",
        "in_progress",
        "finished",
    ]
    assert exchange.result.numberSymbol == "22/CV_LT_MOTCUA"
    assert exchange.result.files.fileName == ["22_CV_LT_MOTCUA.pdf"]
    assert exchange.result.signerName == "Phạm Minh Đức"

    outbox = stack.deliver()
    assert {i.state for i in outbox} == {"delivered"}
    view = stack.onestop.dossier(dossier())
    assert view.state == "finished"
    [result] = view.result_files  # Tệp tin kết quả
    assert (result.name, result.number_symbol, result.issue_date) == (
        "22_CV_LT_MOTCUA.pdf",
        "22/CV_LT_MOTCUA",
        date.today(),
    )
    assert (result.signer_name, result.signer_position) == ("Phạm Minh Đức", "Phó Chủ tịch")
    assert result.document_identifier == guide.RESULT_IDENTIFIER
    pdf = stack.onestop.result_file(view, "22_CV_LT_MOTCUA.pdf")
    assert pdf.startswith(b"%PDF-") and b"22/CV_LT_MOTCUA" in pdf
    assert [e.status_code for e in view.timeline] == [None, None, "01", "03", "04", "05", "06"]


def test_case_2_outgoing_document_goes_straight_to_the_officers_drafts(stack):
    sent = stack.send("OUTGOING", username="tiepnhan.motcua")  # mapped to cbtiepnhan by the connector
    stack.deliver()

    assert stack.docmgmt.registration_queue() == []
    [draft] = stack.docmgmt.drafts()
    assert (draft.kind, draft.officer, draft.state) == ("OUTGOING", "cbtiepnhan", DocState.DRAFTING)
    assert draft.return_to_onestop and draft.files == ("DM_1669450153.pdf",)

    # Signed straight away: signing is what tells the one-stop it is being processed.
    assert stack.docmgmt.sign(draft, "phochutich", "Phó Chủ tịch").state == "in_progress"
    assert stack.docmgmt.issue(draft, "23/CV_LT_MOTCUA").state == "finished"
    stack.deliver()

    assert stack.business_states(sent.message_id) == ["accepted", "arrived", "in_progress", "finished"]
    view = stack.onestop.dossier(dossier())
    assert view.state == "finished"
    assert [f.name for f in view.result_files] == ["23_CV_LT_MOTCUA.pdf"]


def test_the_one_stop_takes_a_document_back_and_it_leaves_the_registration_queue(stack):
    sent = stack.send("INCOMING")
    stack.deliver()
    [row] = stack.docmgmt.registration_queue()

    assert stack.onestop.take_back(dossier(), "Công dân rút hồ sơ").state == "taken_back"
    stack.deliver()  # the connector relays status 13 to the agency

    assert stack.docmgmt.registration_queue() == []
    document = stack.docmgmt.document(row)
    assert document.state is DocState.TAKEN_BACK
    assert (document.events[-1].direction, document.events[-1].status_code) == ("received", "13")
    with pytest.raises(ActionRefused, match="taken_back"):
        stack.docmgmt.register(row)
    assert stack.business_states(sent.message_id) == ["accepted", "arrived", "taken_back"]
