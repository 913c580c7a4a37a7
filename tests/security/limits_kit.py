"""Shared helpers of the hostile-input suite's parser, SOAP, package, signature and resource
families: raw envelopes posted to a real connector (waitress with the production limits, SQLite
or PostgreSQL, development keys), the fault read back, and every table counted before and after.

Fixtures defined here are imported by the test modules that use them.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import func, select

from connector.errors import ErrorCode
from connector.store import tables
from simulators import guide
from tests.soap.conftest import AGENCY, ONESTOP, LiveConnector, start_connector
from tests.soap.faultkit import detail_code, standard_faultcode

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


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveConnector]:
    """One connector per module: every case must leave it as it found it (checked by ``refused``)."""
    connector, server = start_connector(tmp_path_factory.mktemp("limits") / "data")
    with authenticating(connector):
        yield connector
    server.stop()
    connector.runtime.close()


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


def new_id() -> str:
    return str(uuid.uuid4())


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


@dataclass(frozen=True)
class Fault:
    code: str
    message: str


def fault_of(response: requests.Response) -> Fault:
    """The SOAP fault of a response, checking that it is one (HTTP 500, text/xml, a Fault)."""
    assert response.status_code == 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers["Content-Type"]
    fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text[:300]
    code = detail_code(fault.find("detail"))  # the documented code; faultcode is SOAP's own class
    assert standard_faultcode(fault) == (SOAP_ENV, code.split(".")[0])
    return Fault(code, fault.findtext("faultstring"))


# Authentication's own bookkeeping: the caller's password (set on first use) and the nonce of
# every authenticated request (replay protection) are written before the request is looked at.
AUTH_TABLES = frozenset({"credentials", "auth_nonces", "auth_failures"})


def row_counts(live: LiveConnector) -> dict[str, int]:
    """Rows in every table of the store but authentication's: a refused request must change none."""
    with live.runtime.store.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in tables.metadata.sorted_tables
            if t.name not in AUTH_TABLES
        }


def refused(live: LiveConnector, body: bytes | str, code: ErrorCode, **kwargs) -> Fault:
    """Post ``body``; assert the documented fault ``code`` and that no row changed anywhere."""
    before = row_counts(live)
    fault = fault_of(post(live.url, body, **kwargs))
    assert fault.code == code.value, fault
    assert row_counts(live) == before
    return fault


# ---- certificates nobody trusts -------------------------------------------------------------
def junk_certificate(serial: int, key_usage: bool = True) -> x509.Certificate:
    """A self-signed EC certificate, distinct per ``serial``: what a forger can make for free."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"junk {serial}")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial + 1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if key_usage:
        usage = dict.fromkeys(
            (
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, **usage), critical=True)
    return builder.sign(key, hashes.SHA256())


def certificate_text(cert: x509.Certificate) -> bytes:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER))


def with_key_info_certificates(signed: bytes, texts: list[bytes], replace: bool = False) -> bytes:
    """The signed package with more X509Certificate elements in KeyInfo (not covered by the
    signature, so the signature itself stays valid), or with ``texts`` instead of the originals."""
    extra = b"".join(b"<ds:X509Certificate>" + text + b"</ds:X509Certificate>" for text in texts)
    if replace:
        return re.sub(
            rb"<ds:X509Data>.*?</ds:X509Data>",
            b"<ds:X509Data>" + extra + b"</ds:X509Data>",
            signed,
            count=1,
            flags=re.S,
        )
    return signed.replace(b"</ds:X509Data>", extra + b"</ds:X509Data>", 1)
