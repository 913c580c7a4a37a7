"""All 18 vendor packages (``../shared/interop/edxml-samples``) through sendDocument and
updateStatus, on a connector configured for unsigned legacy senders with a directory of their
organisations (``tests/fixtures/vendor-directory.json``): 16 accepted, ``edoc`` and ``edoc_new``
refused with their exact defects.

Each sample is sent in the context it answers: an update, a revocation or a status about
DocumentId 7816 first needs that document sent (built here as a plain new document from the
update sample), and the replacement needs the document it replaces."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from connector.auth import AuthMethod, Caller
from connector.config import load_settings
from connector.edxml import StatusCode, build, parse
from connector.errors import ErrorCode
from connector.exchange.directory import SystemKind, parse_directory
from connector.exchange.requests import DossierInfo, SendDocumentRequest, UpdateStatusRequest
from connector.exchange.states import DocumentKind
from connector.serving.runtime import build_runtime
from testkit.faults import refused_call

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "vendor-directory.json"
DOCUMENT_7816 = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
DOCUMENT_7806 = "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
PROCEDURE_OF_SENDER = {"000.00.00.G22": "VENDOR.H41", "000.00.15.H51": "VENDOR.H51", "vxp.saas.03": "VENDOR.SAAS03"}

# sample -> (operation, document that must exist first, expected refusal or None)
CASES = {
    "852e179c-8eca-4502-ac38-0b97321f29c3": ("send", None, None),
    "874e0f18-90dc-45fb-989a-65401470ba84": ("send", None, None),
    "9e272474-0603-48a2-b525-9cd1af689612": ("send", None, None),
    "edoc_update": ("send", DOCUMENT_7816, None),
    "edoc_revocation": ("send", DOCUMENT_7816, None),
    "edoc_replacement": ("send", DOCUMENT_7806, None),
    "status": ("status", DOCUMENT_7816, None),
    "status_inbox_01": ("status", DOCUMENT_7816, None),
    "status_rejection_02": ("status", DOCUMENT_7816, None),
    "status_acceptance_03": ("status", DOCUMENT_7816, None),
    "status_assignment_04": ("status", DOCUMENT_7816, None),
    "status_processing_05": ("status", DOCUMENT_7816, None),
    "status_finish_06": ("status", DOCUMENT_7816, None),
    "status_cancellation_13": ("status", DOCUMENT_7816, None),
    "status_change-acceptance_15": ("status", DOCUMENT_7816, None),
    "status_change-rejection_16": ("status", DOCUMENT_7816, None),
    "edoc": ("send", None, (ErrorCode.MALFORMED_XML, "Namespace prefix xlink for href on Reference is not defined")),
    "edoc_new": ("send", None, (ErrorCode.MALFORMED_XML, "4 stray bytes b'1212' before the XML declaration")),
}


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vendor-keys")  # one development key set for all samples


@pytest.fixture
def legacy_service(tmp_path, keys_dir):
    settings = load_settings(
        None,
        environ={},
        data_dir=tmp_path,
        keys_dir=keys_dir,
        directory_file=FIXTURE,
        require_signature=False,
        delivery={"enabled": False},
    )
    runtime = build_runtime(settings)
    yield runtime.service
    runtime.close()


def caller(organ_id: str, kind: SystemKind) -> Caller:
    """The fixture's system of that organisation and kind, as the SOAP layer would authenticate it."""
    systems = parse_directory(FIXTURE.read_text(encoding="utf-8"), FIXTURE.name).systems
    return Caller(next(s for s in systems if s.organ_id == organ_id and s.kind is kind), AuthMethod.PASSWORD_DIGEST)


def send(service, data: bytes, sender: str):
    dossier = DossierInfo(
        f"VENDOR-{uuid.uuid4().hex[:8]}", PROCEDURE_OF_SENDER[sender], received_at=datetime(2025, 1, 1)
    )
    request = SendDocumentRequest(str(uuid.uuid4()), data, DocumentKind.INCOMING, "vanthu.g22", dossier)
    return service.send_document(request, caller(sender, SystemKind.ONESTOP))


def original(samples: Path, document_id: str) -> bytes:
    """A plain new document with ``document_id``, from the same sender to the same agencies."""
    update = parse((samples / "edoc_update.edxml").read_bytes())
    return build(replace(update, document_id=document_id, business=None))


def test_the_table_covers_every_sample(samples):
    assert {p.stem for p in samples.glob("*.edxml")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_vendor_sample(legacy_service, samples, name):
    operation, needs, refusal = CASES[name]
    if needs is not None:
        send(legacy_service, original(samples, needs), "000.00.00.G22")
    data = (samples / f"{name}.edxml").read_bytes()
    if refusal is not None:
        error = refused_call(refusal[0], send, legacy_service, data, "000.00.00.G22")
        assert refusal[1] in error.message, error.message
        return
    if operation == "status":
        status = parse(data)
        kind = SystemKind.ONESTOP if status.status_code is StatusCode.TAKEN_BACK else SystemKind.DOCMGMT
        receipt = legacy_service.update_status(
            UpdateStatusRequest(str(uuid.uuid4()), data), caller(status.sender.organ_id, kind)
        )
    else:
        receipt = send(legacy_service, data, parse(data).sender.organ_id)
    assert receipt.receipt.exchange_id
