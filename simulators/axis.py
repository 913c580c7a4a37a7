"""A national-document-axis simulator (VXP SDK 2.x REST): ``python -m simulators axis --port P``.

Registered systems (id and HMAC key) each have an inbox. Every request's ``XroadVnpt-*`` headers
are checked as the axis does, independently of the connector's own code: the listed headers
must be present and serialise to ``XroadVnpt-sign-header`` exactly, its HMAC-SHA256 with the
caller's key must be ``XroadVnpt-hash-header``, ``from`` must equal the registered ``systemid``,
``timestamp`` must be within ``max_skew`` seconds, a file's SHA-256 must be ``filehash``, and the
receiver (``to``: an agency code) must be registered. Refusals answer VXP-style JSON
``{"status": "FAIL", "ErrorCode": ..., "ErrorDesc": ...}``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import hmac
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

VIETNAM = timezone(timedelta(hours=7))
PREFIX = "xroadvnpt-"


@dataclass(frozen=True)
class AxisSystem:
    system_id: str
    secret: str
    agencies: tuple[str, ...]  # the agency codes (OrganIds) whose documents it receives


@dataclass
class Edoc:
    doc_id: str
    sender: str
    to: str
    messagetype: str
    content: bytes
    status: str = "new"  # new | processing | done | fail
    description: str = ""


@dataclass
class AxisConfig:
    systems: list[AxisSystem] = field(default_factory=list)
    max_skew: float = 300.0


class AxisRefusal(Exception):  # noqa: N818
    def __init__(self, status: str, code: str, desc: str) -> None:
        super().__init__(desc)
        self.status, self.code, self.desc = status, code, desc


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text.split("+")[0], "%d%m%YT%H%M%S").replace(tzinfo=VIETNAM)


class AxisSimulator:
    def __init__(self, config: AxisConfig, clock: Callable[[], datetime] = lambda: datetime.now(VIETNAM)) -> None:
        self.config = config
        self.clock = clock
        self.edocs: dict[str, Edoc] = {}
        self.refusals: list[str] = []
        self._lock = threading.Lock()

    def system(self, system_id: str) -> AxisSystem | None:
        return next((s for s in self.config.systems if s.system_id == system_id), None)

    def receiver(self, agency: str) -> AxisSystem | None:
        return next((s for s in self.config.systems if agency in s.agencies), None)

    def inbox(self, system_id: str) -> list[Edoc]:
        system = self.system(system_id)
        return [e for e in self.edocs.values() if system and e.to in system.agencies]

    # ---- the HMAC check ----------------------------------------------------------------
    def authenticate(self, environ: dict[str, Any], file: bytes | None) -> dict[str, str]:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        names = [n.strip() for n in headers.get(PREFIX + "sign-header-key", "").split(",") if n.strip()]
        if not names:
            raise AxisRefusal("401 Unauthorized", "MISSING_HEADER", "XroadVnpt-sign-header-key is missing")
        fields: dict[str, str] = {}
        for name in names:
            if name.lower() not in headers:
                raise AxisRefusal("401 Unauthorized", "MISSING_HEADER", f"{name} is listed but missing")
            fields[name.lower()[len(PREFIX) :]] = headers[name.lower()]
        for required in ("from", "servicetype", "messagetype", "timestamp", "systemid"):
            if required not in fields:
                raise AxisRefusal("401 Unauthorized", "MISSING_HEADER", f"XroadVnpt-{required} is not signed")
        serialised = "&".join(f"{n}={urllib.parse.quote(headers[n.lower()], safe='')}" for n in names)
        if serialised != headers.get(PREFIX + "sign-header"):
            raise AxisRefusal("401 Unauthorized", "INVALID_HASH", "XroadVnpt-sign-header does not match the headers")
        system = self.system(fields["systemid"])
        if system is None:
            raise AxisRefusal("401 Unauthorized", "UNKNOWN_SYSTEM", f"system {fields['systemid']} is not registered")
        expected = base64.b64encode(hmac.new(system.secret.encode(), serialised.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.decode(), headers.get(PREFIX + "hash-header", "")):
            raise AxisRefusal("401 Unauthorized", "INVALID_HASH", "XroadVnpt-hash-header does not verify")
        if fields["from"] != system.system_id:
            raise AxisRefusal("401 Unauthorized", "INVALID_FROM", "XroadVnpt-from is not the registered system id")
        try:
            at = parse_timestamp(fields["timestamp"])
        except ValueError:
            raise AxisRefusal("401 Unauthorized", "TIMESTAMP_EXPIRED", "XroadVnpt-timestamp is malformed") from None
        if abs((self.clock() - at).total_seconds()) > self.config.max_skew:
            raise AxisRefusal("401 Unauthorized", "TIMESTAMP_EXPIRED", "XroadVnpt-timestamp is too old or early")
        if file is not None and hashlib.sha256(file).hexdigest() != fields.get("filehash"):
            raise AxisRefusal("400 Bad Request", "INVALID_FILE", "XroadVnpt-filehash is not the file's SHA-256")
        return fields

    # ---- WSGI --------------------------------------------------------------------------
    def wsgi_app(self, address: str = "") -> Callable[..., Iterable[bytes]]:
        return self.__call__

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            if path == "/sendEdoc":
                file = _multipart_part(environ.get("CONTENT_TYPE", ""), body, "file_doc")
                fields = self.authenticate(environ, file if file is not None else b"")
                if file is None:
                    raise AxisRefusal("400 Bad Request", "INVALID_FILE", "part file_doc is missing")
                if self.receiver(fields.get("to", "")) is None:
                    raise AxisRefusal("404 Not Found", "RECEIVER_NOT_FOUND", f"no agency {fields.get('to')!r}")
                edoc = Edoc(uuid.uuid4().hex, fields["from"], fields["to"], fields["messagetype"], file)
                with self._lock:
                    self.edocs[edoc.doc_id] = edoc
                return _ok(start_response, {"docId": edoc.doc_id})
            fields = self.authenticate(environ, None)
            me = fields["from"]
            if path == "/getReceivedEdocList":
                listed = [
                    {"docId": e.doc_id, "from": e.sender, "to": e.to, "messagetype": e.messagetype}
                    for e in self.inbox(me)
                    if e.status in ("new", "processing")
                ]
                return _ok(start_response, {"data": listed})
            if path == "/getEdoc":
                edoc = self._mine(me, urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("docId", [""])[0])
                return _ok(
                    start_response, {"data": {"docId": edoc.doc_id, "content": base64.b64encode(edoc.content).decode()}}
                )
            if path == "/updateStatus":
                request = json.loads(body or b"{}")
                edoc = self._mine(me, str(request.get("docId", "")))
                if request.get("status") not in ("done", "fail", "processing"):
                    raise AxisRefusal("400 Bad Request", "INVALID_STATUS", "status must be done, fail or processing")
                edoc.status, edoc.description = request["status"], str(request.get("description") or "")
                return _ok(start_response, {})
            if path == "/getAgenciesList":
                agencies = [{"code": a, "systemId": s.system_id} for s in self.config.systems for a in s.agencies]
                return _ok(start_response, {"data": agencies})
            raise AxisRefusal("404 Not Found", "NOT_FOUND", f"no service {path}")
        except AxisRefusal as refusal:
            self.refusals.append(refusal.code)
            start_response(refusal.status, [("Content-Type", "application/json")])
            return [json.dumps({"status": "FAIL", "ErrorCode": refusal.code, "ErrorDesc": refusal.desc}).encode()]

    def _mine(self, system_id: str, doc_id: str) -> Edoc:
        edoc = self.edocs.get(doc_id)
        if edoc is None or edoc not in self.inbox(system_id):
            raise AxisRefusal("404 Not Found", "DOCUMENT_NOT_FOUND", f"no document {doc_id!r} for {system_id}")
        return edoc


def _ok(start_response: Callable[..., Any], data: dict[str, Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": ""} | data).encode()]


def _multipart_part(content_type: str, body: bytes, name: str) -> bytes | None:
    if not content_type.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            return part.get_payload(decode=True)
    return None


def parse_system(text: str) -> AxisSystem:
    """``ID:SECRET:AGENCY[;AGENCY...]`` (the command line's ``--system``)."""
    system_id, secret, agencies = (text.split(":", 2) + ["", ""])[:3]
    if not (system_id and secret and agencies):
        raise ValueError(f"--system {text!r}: expected ID:SECRET:AGENCY[;AGENCY...]")
    return AxisSystem(system_id, secret, tuple(agencies.split(";")))
