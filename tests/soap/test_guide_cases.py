"""The guide's two cases end to end over HTTP: zeep sends the dossier as INCOMING and as
OUTGOING, status updates build the timeline, publishResult completes the exchange."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from connector.edxml import StatusCode
from connector.exchange.receipts import RECEIPT_PROFILE
from signing import VerificationPolicy, verify_xml
from simulators import guide
from testkit.live import AGENCY, ONESTOP
from testkit.net import new_id

ROOT = Path(__file__).resolve().parents[2]

DOSSIER = {
    "dossierCode": guide.DOSSIER_CODE,
    "procedureCode": guide.PROCEDURE_CODE,
    "onestopNumber": guide.ONESTOP_DOSSIER_NUMBER,
    "procedureName": guide.PROCEDURE_NAME,
    "applicant": "Nguyễn Văn An",
    "receivedAt": datetime(2022, 11, 26, 15, 9, 15),
    "dueDate": date(2022, 11, 26),
    "officerOpinion": "Chuyển Sở Tư pháp xử lý",
}


def send(connector, kind: str, username: str = "cbtiepnhan"):
    """sendDocument from the one-stop system; status and publish below come from the side entitled."""
    package = connector.sign(guide.send_package())
    return connector.client(ONESTOP).service.sendDocument(
        messageId=new_id(), edxmlPackage=package, kind=kind, senderUsername=username, dossier=DOSSIER
    )


def status(connector, code: StatusCode):
    package = connector.sign(guide.status_package(code))
    system = ONESTOP if code is StatusCode.TAKEN_BACK else AGENCY
    return connector.client(system).service.updateStatus(messageId=new_id(), edxmlPackage=package)


def publish(connector):
    package = connector.sign(guide.result_package())
    return connector.client(AGENCY).service.publishResult(
        messageId=new_id(),
        edxmlPackage=package,
        onestopNumber=guide.ONESTOP_DOSSIER_NUMBER,
        issue={
            "numberSymbol": "22/CV_LT_MOTCUA",
            "issueDate": date(2022, 11, 26),
            "signerName": "phochutich",
            "signerPosition": "Phó Chủ tịch",
            "documentIdentifier": guide.RESULT_IDENTIFIER,
        },
    )


def test_incoming_lands_in_the_clerks_registration_queue_and_completes(connector):
    client = connector.client()
    receipt = send(connector, "INCOMING")
    assert receipt.state == "accepted"
    assert receipt.routing.agencyId == guide.AGENCY.organ_id
    assert receipt.routing.queue == "registration"
    assert receipt.routing.targetAccount == "vanthu.stp"
    assert receipt.documentId == guide.send_package().document_id

    for code in (StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS):
        status(connector, code)
    published = publish(connector)
    assert published.state == "finished"

    exchange = client.service.getStatus(dossierCode=guide.DOSSIER_CODE)
    assert exchange.state == "finished"
    assert [e.state for e in exchange.timeline.TimelineEvent] == [
        "accepted",
        "arrived",
        "registered",
        "assigned",
        "in_progress",
        "finished",
    ]
    assert [e.statusCode for e in exchange.timeline.TimelineEvent][1:] == ["01", "03", "04", "05", "06"]
    assert all(e.packageDigest for e in exchange.timeline.TimelineEvent)
    assert exchange.result.numberSymbol == "22/CV_LT_MOTCUA"
    assert exchange.result.files.fileName == ["22_CV_LT_MOTCUA.pdf"]
    assert exchange.result.documentIdentifier == guide.RESULT_IDENTIFIER


def test_outgoing_goes_to_the_officers_drafts(connector):
    client = connector.client()
    receipt = send(connector, "OUTGOING")
    assert receipt.routing.queue == "drafts"
    assert receipt.routing.targetAccount == "cbtiepnhan"  # the same username in both systems
    assert publish(connector).state == "finished"
    by_message = client.service.getStatus(messageId=receipt.messageId)
    assert by_message.kind == "OUTGOING" and by_message.state == "finished"


def test_username_mapping_removes_the_renaming_chore(connector):
    receipt = send(connector, "OUTGOING", username="tiepnhan.motcua")
    assert receipt.routing.targetAccount == "cbtiepnhan"


def test_receipts_are_signed_by_the_connector(connector):
    receipt = send(connector, "INCOMING")
    policy = VerificationPolicy.from_paths(trust=[connector.keys_dir / "ca.pem"])
    verified = verify_xml(receipt.signedReceipt, policy, RECEIPT_PROFILE)
    assert verified.signer_organ_id == "000.00.99.H31"
    assert receipt.messageId.encode() in verified.signed_xml


def test_an_auditor_verifies_a_receipt_with_the_signing_cli(connector, tmp_path):
    """``python -m signing verify RECEIPT.xml --trust CA.pem``, as an auditor types it."""
    receipt = send(connector, "INCOMING")
    path = tmp_path / "receipt.xml"
    path.write_bytes(receipt.signedReceipt)
    command = [sys.executable, "-m", "signing", "verify", str(path), "--trust", str(connector.keys_dir / "ca.pem")]
    human = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert human.returncode == 0, human.stdout + human.stderr
    assert "VALID" in human.stdout and "Document:      connector receipt" in human.stdout
    assert "000.00.99.H31" in human.stdout  # the connector's identity signed it
    verdict = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60).stdout)
    assert verdict["valid"] and verdict["document"] == "connector receipt"
    assert verdict["organ_id"] == "000.00.99.H31" and verdict["sender_organ_id"] is None

    path.write_bytes(receipt.signedReceipt.replace(b">accepted<", b">finished<"))
    tampered = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert tampered.returncode == 1 and json.loads(tampered.stdout)["reason"] == "DIGEST_MISMATCH"


def test_the_same_message_twice_returns_the_original_receipt(connector):
    client = connector.client()
    package = connector.sign(guide.send_package())
    message_id = new_id()
    args = dict(
        messageId=message_id, edxmlPackage=package, kind="INCOMING", senderUsername="cbtiepnhan", dossier=DOSSIER
    )
    first = client.service.sendDocument(**args)
    second = client.service.sendDocument(**args)
    assert first.signedReceipt == second.signedReceipt
    assert len(client.service.getStatus(messageId=message_id).timeline.TimelineEvent) == 1


def test_a_result_published_after_status_06_is_still_recorded(connector):
    client = connector.client()
    send(connector, "INCOMING")
    assert status(connector, StatusCode.FINISHED).state == "finished"
    assert publish(connector).state == "finished"
    assert client.service.getStatus(dossierCode=guide.DOSSIER_CODE).result.numberSymbol == "22/CV_LT_MOTCUA"


def test_concurrent_retries_of_one_message_all_get_the_original_receipt(connector):
    """A client that times out and retries while the first request is still running."""
    from concurrent.futures import ThreadPoolExecutor

    client = connector.client()
    send(connector, "INCOMING")
    package, message_id = connector.sign(guide.status_package(StatusCode.ARRIVED)), new_id()

    def update(_: int) -> bytes:
        return connector.client(AGENCY).service.updateStatus(messageId=message_id, edxmlPackage=package).signedReceipt

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(update, range(8)))
    assert len(set(receipts)) == 1
    timeline = client.service.getStatus(messageId=message_id).timeline.TimelineEvent
    assert [e.state for e in timeline] == ["accepted", "arrived"]


def test_a_50_mb_file_fits_the_default_limits(connector):
    """The default caps take a 50 MB scan: ~67 MB as a package, ~90 MB as a SOAP request."""
    package = guide.send_package(padding=50_000_000 - 2000)  # a 50,000,000-byte PDF
    assert package.attachments[0].size <= 50_000_000
    receipt = connector.client().service.sendDocument(
        messageId=new_id(),
        edxmlPackage=connector.sign(package),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert receipt.state == "accepted"
    [stored] = connector.runtime.store.package_attachments(receipt.packageDigest)
    assert stored.sha256 == package.attachments[0].sha256
