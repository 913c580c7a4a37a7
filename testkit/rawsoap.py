"""Hand-written SOAP envelopes posted to a live connector (``testkit.live``): the hostile-input
suite's bodies, sent as they are or, while ``authenticating`` is open, with a fresh UsernameToken
of the system that would send them."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from simulators import guide
from testkit.live import AGENCY, ONESTOP, LiveConnector
from testkit.net import new_id

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:vn:lienthong:connector:1"
PULL_SYSTEM = "eoffice-ubnd"  # a pull-mode system of the guide's sample directory


_CONNECTORS: dict[str, LiveConnector] = {}  # url -> connector: hand-written envelopes authenticate


@contextmanager
def authenticating(connector: LiveConnector) -> Iterator[LiveConnector]:
    """While open, ``post`` to this connector adds a fresh UsernameToken to every envelope."""
    _CONNECTORS[connector.url] = connector
    try:
        yield connector
    finally:
        del _CONNECTORS[connector.url]


def _codec(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data[1:2] == b"\x00":
        return "utf-16-le"
    return "utf-8"


def _system_of(connector: LiveConnector, text: str) -> str:
    """Who would send this: a (registered) pull system reads its own items, the agency sends
    statuses and results, the one-stop system sends dossiers."""
    found = re.search(r"<c:systemId>([^<]*)</c:systemId>", text)
    if found and connector.runtime.store.system(found.group(1)) is not None:
        return found.group(1)
    return AGENCY if ("<c:updateStatus" in text or "<c:publishResult" in text) else ONESTOP


def with_credentials(url: str, data: bytes) -> bytes:
    """The envelope with a fresh UsernameToken (PasswordDigest) of the system that would send it,
    so that a hostile case reaches the check it is about instead of stopping at authentication.
    Bytes that are not text with a ``soap:Body`` are sent as they are."""
    connector = _CONNECTORS.get(url)
    if not isinstance(data, bytes):  # a stream (sent chunked): as it is
        return data
    codec = _codec(data)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return data
    if connector is None or "<soap:Body" not in text or "Security" in text:
        return data
    header = connector.security_header(_system_of(connector, text))
    if "<soap:Header>" in text:
        text = text.replace("<soap:Header>", "<soap:Header>" + header, 1)
    else:
        text = text.replace("<soap:Body", "<soap:Header>" + header + "</soap:Header><soap:Body", 1)
    return text.encode(codec)


def envelope(body: str, header: str = "", declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (
        f'{declaration}<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="{TNS}">{head}'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    )


def list_pending(system_id: str = PULL_SYSTEM) -> str:
    return f"<c:listPending><c:systemId>{system_id}</c:systemId></c:listPending>"


def send_document(package_text: str, message_id: str | None = None, kind: str = "INCOMING") -> str:
    """A sendDocument body; ``package_text`` is the base64 text exactly as it is to be sent."""
    return (
        f"<c:sendDocument><c:messageId>{message_id or new_id()}</c:messageId>"
        f"<c:edxmlPackage>{package_text}</c:edxmlPackage>"
        f"<c:kind>{kind}</c:kind><c:senderUsername>cbtiepnhan</c:senderUsername><c:dossier>"
        f"<c:dossierCode>{guide.DOSSIER_CODE}</c:dossierCode><c:procedureCode>{guide.PROCEDURE_CODE}</c:procedureCode>"
        f"<c:onestopNumber>{guide.ONESTOP_DOSSIER_NUMBER}</c:onestopNumber></c:dossier></c:sendDocument>"
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def post(url: str, body: bytes | str, content_type: str = "text/xml; charset=utf-8", **kwargs) -> requests.Response:
    data = with_credentials(url, body.encode("utf-8") if isinstance(body, str) else body)
    with requests.Session() as session:
        session.trust_env = False
        return session.post(
            f"{url}/soap", data=data, timeout=60, headers={"Content-Type": content_type, "SOAPAction": '""'}, **kwargs
        )
