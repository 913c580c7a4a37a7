"""``ExchangeService`` without HTTP: the embedded default (SQLite, development keys, the guide's
directory) in a temp dir, and builders of the guide's requests, signed with real keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest

from connector.auth import AuthMethod, Caller
from connector.config import load_settings
from connector.edxml import Package, StatusCode, build
from connector.exchange.directory import parse_directory
from connector.exchange.requests import (
    DossierInfo,
    IssueInfo,
    PublishResultRequest,
    SendDocumentRequest,
    UpdateStatusRequest,
)
from connector.exchange.service import ExchangeService
from connector.exchange.states import DocumentKind
from connector.serving.runtime import SAMPLE_DIRECTORY, Runtime, build_runtime
from signing import SigningOptions, sign_package
from simulators import guide
from testkit.net import new_id

Signer = Callable[..., bytes]

# The callers the SOAP layer would authenticate: systems of the sample directory.
_SYSTEMS = {s.system_id: s for s in parse_directory(SAMPLE_DIRECTORY.read_text(encoding="utf-8"), "x.json").systems}


def caller(system_id: str) -> Caller:
    return Caller(_SYSTEMS[system_id], AuthMethod.PASSWORD_DIGEST)


ONESTOP = caller("igate-hungyen")  # one-stop of 000.00.13.H31
AGENCY = caller("eoffice-stp")  # document management of 000.00.31.H31, the guide's agency
PULL_AGENCY = caller("eoffice-ubnd")  # document management of 000.00.00.H31 (pull)

DOSSIER = DossierInfo(
    dossier_code=guide.DOSSIER_CODE,
    procedure_code=guide.PROCEDURE_CODE,
    onestop_number=guide.ONESTOP_DOSSIER_NUMBER,
    procedure_name=guide.PROCEDURE_NAME,
    applicant="Nguyễn Văn An",
    received_at=datetime(2022, 11, 26, 15, 9, 15),
    due_date=date(2022, 11, 26),
)
ISSUE = IssueInfo("22/CV_LT_MOTCUA", date(2022, 11, 26), "phochutich", "Phó Chủ tịch", guide.RESULT_IDENTIFIER)


@pytest.fixture
def runtime(tmp_path) -> Iterator[Runtime]:
    built = build_runtime(load_settings(None, environ={}, data_dir=tmp_path, delivery={"enabled": False}))
    yield built
    built.close()


@pytest.fixture
def service(runtime) -> ExchangeService:
    return runtime.service


@pytest.fixture
def signed(runtime) -> Signer:
    """``signed(package, organ_id=None, **SigningOptions)``: the package built and signed with
    the development key of ``organ_id`` (default: its sender)."""

    def sign(package: Package | bytes, organ_id: str | None = None, **options: object) -> bytes:
        data = package if isinstance(package, bytes) else build(package)
        organ = organ_id or (guide.ONESTOP.organ_id if isinstance(package, bytes) else package.sender.organ_id)
        return sign_package(data, runtime.dev_keys.identity(organ), SigningOptions(**options))

    return sign


def send_request(
    package: bytes,
    kind: DocumentKind = DocumentKind.INCOMING,
    username: str = "cbtiepnhan",
    dossier: DossierInfo = DOSSIER,
    message_id: str | None = None,
) -> SendDocumentRequest:
    return SendDocumentRequest(message_id or new_id(), package, kind, username, dossier)


def status_request(package: bytes) -> UpdateStatusRequest:
    return UpdateStatusRequest(new_id(), package)


def result_request(package: bytes) -> PublishResultRequest:
    return PublishResultRequest(new_id(), package, guide.ONESTOP_DOSSIER_NUMBER, ISSUE)


def status_of(code: StatusCode) -> Package:
    return guide.status_package(code)
