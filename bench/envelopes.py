"""Ready-to-send SOAP requests for the HTTP benchmarks: signed edXML packages as the guide's
systems make them, each envelope with its own WS-Security UsernameToken, as complete HTTP/1.1
request bytes (so the load generator only writes and reads sockets).

Every sendDocument package gets its own dossier, so its own DocumentId (the connector refuses a
DocumentId it has seen); every envelope gets a fresh message id and a fresh Nonce, and a
``Created`` time of when it was built - build them just before they are sent (the connector
accepts ``Created`` within ``[auth] created_window``, 300 s by default).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from connector.auth.wsse import digest_header
from connector.edxml import Organization, StatusCode, build
from connector.soap.models import TNS
from signing import OrgSpec, SigningIdentity, init_dev_keys, sign_package
from simulators import guide

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ONESTOP = "igate-hungyen"  # the sample directory's one-stop system (sends)
AGENCY = "eoffice-stp"  # document management of the guide's agency (push; sends statuses)
PULL_AGENCY = "eoffice-ubnd"  # document management of 000.00.00.H31 (pull: lists, fetches, acknowledges)
SYSTEMS = (ONESTOP, AGENCY, PULL_AGENCY)
UBND = Organization("000.00.00.H31", "UBND tỉnh Hưng Yên")  # the pull agency's organisation
PULL_PROCEDURE = "XD_2021_10"  # the sample directory routes it to UBND (eoffice-ubnd, pull)


@dataclass(frozen=True)
class Request:
    operation: str
    data: bytes  # the whole HTTP request: headers and body
    envelope_bytes: int
    message_id: str | None = None
    tag: str | None = None  # sendDocument: the tag its dossier (and so its DocumentId) was made from


def new_id() -> str:
    return str(uuid.uuid4())


def security_header(system_id: str, password: str) -> str:
    """A UsernameToken with PasswordDigest = base64(SHA-1(nonce + Created + password))."""
    return digest_header(system_id, password, os.urandom(16), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def http_request(operation: str, body: str, header: str, host: str, tag: str | None = None) -> Request:
    envelope = (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="{TNS}">'
        f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()
    head = (
        f"POST /soap HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f'SOAPAction: "{operation}"\r\nContent-Length: {len(envelope)}\r\n\r\n'
    ).encode()
    message_id = body.split("<c:messageId>", 1)[1].split("<", 1)[0] if "<c:messageId>" in body else None
    return Request(operation, head + envelope, len(envelope), message_id, tag)


class Envelopes:
    """Builds the requests of one server: signs packages with the development keys in
    ``keys_dir`` (the server's, made on its first run; created for the two organisations when
    missing) and authenticates with ``passwords`` (system id -> password)."""

    def __init__(self, keys_dir: Path, passwords: dict[str, str], host: str) -> None:
        orgs = [OrgSpec(o.organ_id, o.organ_name) for o in (guide.ONESTOP, guide.AGENCY)]
        keys = init_dev_keys(keys_dir, orgs)
        self.onestop: SigningIdentity = keys.identity(guide.ONESTOP.organ_id)
        self.agency: SigningIdentity = keys.identity(guide.AGENCY.organ_id)
        self.passwords = passwords
        self.host = host

    def _request(self, system_id: str, operation: str, body: str, tag: str | None = None) -> Request:
        header = security_header(system_id, self.passwords[system_id])
        return http_request(operation, body, header, self.host, tag)

    # ---- packages (the client's cost: signed before anything is timed) ----
    @staticmethod
    def dossier(tag: str) -> guide.Dossier:
        return guide.Dossier(f"BENCH-{tag}", f"B{tag}", "Nguyễn Văn An", "cbtiepnhan")

    def send_package(self, tag: str, padding: int = 0, pull: bool = False) -> bytes:
        package = guide.send_package(self.dossier(tag), padding=padding)
        if pull:  # addressed to the pull agency instead of the guide's
            package = replace(package, recipients=[UBND])
        return sign_package(build(package), self.onestop)

    def status_package(self, document_tag: str, code: StatusCode = StatusCode.ARRIVED) -> bytes:
        return sign_package(build(guide.status_package(code, self.dossier(document_tag))), self.agency)

    # ---- requests ----
    def send_document(self, tag: str, signed: bytes, pull: bool = False) -> Request:
        dossier = self.dossier(tag)
        procedure = PULL_PROCEDURE if pull else guide.PROCEDURE_CODE
        body = (
            f"<c:sendDocument><c:messageId>{new_id()}</c:messageId>"
            f"<c:edxmlPackage>{base64.b64encode(signed).decode()}</c:edxmlPackage>"
            f"<c:kind>INCOMING</c:kind><c:senderUsername>{dossier.officer}</c:senderUsername><c:dossier>"
            f"<c:dossierCode>{dossier.code}</c:dossierCode><c:procedureCode>{procedure}</c:procedureCode>"
            f"<c:onestopNumber>{dossier.onestop_number}</c:onestopNumber>"
            f"<c:procedureName>{guide.PROCEDURE_NAME}</c:procedureName><c:applicant>{dossier.applicant}</c:applicant>"
            "</c:dossier></c:sendDocument>"
        )
        return self._request(ONESTOP, "sendDocument", body, tag)

    def update_status(self, signed: bytes) -> Request:
        body = (
            f"<c:updateStatus><c:messageId>{new_id()}</c:messageId>"
            f"<c:edxmlPackage>{base64.b64encode(signed).decode()}</c:edxmlPackage></c:updateStatus>"
        )
        return self._request(AGENCY, "updateStatus", body)

    def get_status(self, message_id: str) -> Request:
        body = f"<c:getStatus><c:messageId>{message_id}</c:messageId></c:getStatus>"
        return self._request(ONESTOP, "getStatus", body)

    def list_pending(self) -> Request:
        body = f"<c:listPending><c:systemId>{PULL_AGENCY}</c:systemId></c:listPending>"
        return self._request(PULL_AGENCY, "listPending", body)

    def fetch_pending(self, item_id: int) -> Request:
        body = f"<c:fetchPending><c:systemId>{PULL_AGENCY}</c:systemId><c:itemId>{item_id}</c:itemId></c:fetchPending>"
        return self._request(PULL_AGENCY, "fetchPending", body)

    def acknowledge(self, item_id: int) -> Request:
        body = (
            f"<c:acknowledge><c:systemId>{PULL_AGENCY}</c:systemId><c:itemId>{item_id}</c:itemId>"
            "<c:outcome>FAIL</c:outcome><c:reason>benchmark: back to the list</c:reason></c:acknowledge>"
        )
        return self._request(PULL_AGENCY, "acknowledge", body)
