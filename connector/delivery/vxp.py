"""The national document axis (Trục liên thông văn bản quốc gia, VXP SDK 2.x) as a partner
protocol: ``systems[].protocol = "vxp"``, ``endpoint`` = the axis base URL, ``auth = {"type":
"vxp-hmac", "system_id": ID}`` and the HMAC key set with ``credentials set-partner``.

Every request is authenticated by HMAC-SHA256 over ``XroadVnpt-*`` headers: the caller's fields
(``from``, ``to``, ``servicetype=eDoc``, ``messagetype=edoc|status``, ``docId``, ``timestamp``
as ``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time, ``systemid``, ``filehash`` = SHA-256 of the file)
become headers, their names are listed in ``XroadVnpt-sign-header-key``, ``name=value`` pairs
joined by ``&`` in that order are ``XroadVnpt-sign-header``, and ``XroadVnpt-hash-header`` is
the base64 HMAC-SHA256 of that with the key. ``from`` must be the registered system id.

Outbound, the outbox's items for a vxp partner go out with ``sendEdoc`` (multipart, part
``file_doc`` = the signed edXML exactly as stored, never re-serialised); the axis's answer is
classified like a partner's (``Outcome``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from connector.delivery.clients import CallResult, Outcome
from connector.errors import SimpleError
from connector.exchange.directory import PartnerAuthType, SystemEntry

VIETNAM = timezone(timedelta(hours=7))
PREFIX = "XroadVnpt-"
SIGN_KEYS = PREFIX + "sign-header-key"
SIGN_HEADER = PREFIX + "sign-header"
HASH_HEADER = PREFIX + "hash-header"
# The axis's refusals that no retry can fix (a document it will never route).
REJECTING_CODES = frozenset({"RECEIVER_NOT_FOUND", "INVALID_FILE", "DUPLICATE_DOCUMENT"})
CREDENTIAL_CODES = frozenset({"INVALID_FROM", "INVALID_HASH", "UNKNOWN_SYSTEM", "TIMESTAMP_EXPIRED"})


class AxisError(SimpleError):
    """The axis refused a request or could not be reached; ``code`` is its error code."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def vxp_timestamp(now: datetime) -> str:
    local = now.astimezone(VIETNAM)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def sign(fields: dict[str, str], secret: str) -> dict[str, str]:
    """The ``XroadVnpt-*`` headers for ``fields`` (name → value, in signing order)."""
    names = [PREFIX + name for name in fields]
    serialised = "&".join(f"{PREFIX}{k}={urllib.parse.quote(v, safe='')}" for k, v in fields.items())
    mac = hmac.new(secret.encode("utf-8"), serialised.encode("utf-8"), hashlib.sha256).digest()
    return {PREFIX + k: v for k, v in fields.items()} | {
        SIGN_KEYS: ",".join(names),
        SIGN_HEADER: serialised,
        HASH_HEADER: base64.b64encode(mac).decode("ascii"),
    }


@dataclass(frozen=True)
class ReceivedEdoc:
    doc_id: str
    sender: str
    messagetype: str


class AxisClient:
    """One system's calls to the axis (``system_id`` and its key)."""

    def __init__(
        self, base_url: str, system_id: str, secret: str, timeout: tuple[float, float] = (5.0, 30.0), clock: Any = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.timeout = timeout
        self.clock = clock or (lambda: datetime.now(VIETNAM))
        self.session = requests.Session()
        self.session.trust_env = False

    def _fields(self, messagetype: str, **more: str) -> dict[str, str]:
        return {
            "from": self.system_id,
            **{k: v for k, v in more.items() if k == "to"},
            "servicetype": "eDoc",
            "messagetype": messagetype,
            **{k: v for k, v in more.items() if k != "to"},
            "timestamp": vxp_timestamp(self.clock()),
            "systemid": self.system_id,
        }

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise AxisError(
                f"the axis answered HTTP {response.status_code} without JSON", status=response.status_code
            ) from None
        if response.status_code != 200 or data.get("status") != "OK":
            code = str(data.get("ErrorCode") or "")
            raise AxisError(f"{code}: {data.get('ErrorDesc', '')}".strip(": "), code, response.status_code)
        return data

    def send_edoc(self, to: str, messagetype: str, file: bytes) -> str:
        fields = self._fields(messagetype, to=to, filehash=hashlib.sha256(file).hexdigest())
        response = self.session.post(
            f"{self.base_url}/sendEdoc",
            headers=sign(fields, self.secret),
            files={"file_doc": ("edoc.edxml", file, "application/xml")},
            timeout=self.timeout,
        )
        return str(self._answer(response)["docId"])

    def received(self, messagetype: str = "edoc") -> list[ReceivedEdoc]:
        response = self.session.get(
            f"{self.base_url}/getReceivedEdocList",
            headers=sign(self._fields(messagetype), self.secret),
            timeout=self.timeout,
        )
        return [
            ReceivedEdoc(str(d["docId"]), str(d["from"]), str(d["messagetype"])) for d in self._answer(response)["data"]
        ]

    def get_edoc(self, doc_id: str) -> bytes:
        fields = self._fields("edoc", docId=doc_id)
        response = self.session.get(
            f"{self.base_url}/getEdoc",
            params={"docId": doc_id},
            headers=sign(fields, self.secret),
            timeout=self.timeout,
        )
        return base64.b64decode(self._answer(response)["data"]["content"])

    def update_status(self, doc_id: str, status: str, description: str = "") -> None:
        fields = self._fields("status", docId=doc_id)
        body = {"docId": doc_id, "status": status, "description": description}
        response = self.session.post(
            f"{self.base_url}/updateStatus",
            headers=sign(fields, self.secret) | {"Content-Type": "application/json"},
            data=json.dumps(body),
            timeout=self.timeout,
        )
        self._answer(response)


class VxpDelivery:
    """The outbox's seam for vxp partners (``PartnerProtocols``' ``vxp``)."""

    def __init__(self, timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        self.timeout = timeout

    def deliver(
        self, system: SystemEntry, operation: str, arguments: dict[str, Any], package: bytes | None, secret: str | None
    ) -> CallResult:
        auth = system.auth
        if auth is None or auth.type is not PartnerAuthType.VXP_HMAC or not auth.system_id:
            return CallResult(Outcome.UNAUTHORIZED, error=f"{system.system_id}: a vxp system needs auth type vxp-hmac")
        if not secret:
            return CallResult(
                Outcome.UNAUTHORIZED,
                error=f"no axis key: python -m connector credentials set-partner {system.system_id} --secret-stdin",
            )
        if not package:
            return CallResult(Outcome.REJECTED, error=f"{operation} has no edXML package to send on the axis")
        assert system.endpoint is not None  # the worker checked
        messagetype = "status" if operation == "deliverStatus" else "edoc"
        client = AxisClient(system.endpoint, auth.system_id, secret, self.timeout)
        try:
            doc_id = client.send_edoc(system.organ_id, messagetype, package)
        except AxisError as exc:
            if exc.code in CREDENTIAL_CODES:
                return CallResult(Outcome.UNAUTHORIZED, error=f"credentials refused by the axis: {exc}")
            if exc.code in REJECTING_CODES:
                return CallResult(Outcome.REJECTED, error=f"axis: {exc}")
            return CallResult(Outcome.RETRY, error=f"axis: {exc}")
        except requests.RequestException as exc:
            return CallResult(Outcome.RETRY, error=f"transport: {type(exc).__name__}: {exc}")
        return CallResult(Outcome.DELIVERED, reference=doc_id)
