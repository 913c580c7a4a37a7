"""TLS and client certificates through a real reverse proxy: Debian's nginx terminates TLS,
verifies client certificates against the development CA and passes the verdict to the connector
(docs/security.md shows the same configuration). The clients are real TLS clients holding
certificates from the development CA (``python -m signing keys init``)."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import zeep
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from connector.errors import ErrorCode
from simulators import guide
from testkit.faults import refused_response
from testkit.live import ONESTOP, LiveConnector
from tests.security.conftest import envelope, send_body, unchanged, usernametoken
from tests.soap.test_guide_cases import DOSSIER
from tests.tls_proxy import NGINX, ProxyFailed, nginx_tls_proxy, pem_key

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/ensure-tools installs it from Debian)"
)


def self_signed_client(out: Path) -> tuple[str, str]:
    """A client certificate from no CA the proxy trusts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (out / "impostor.key").write_bytes(pem_key(key))
    (out / "impostor.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(out / "impostor.pem"), str(out / "impostor.key")


@dataclass
class Proxy:
    url: str
    ca: str
    live: LiveConnector

    def session(self, cert: tuple[str, str] | None = None) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the CA we pin
        session.verify = self.ca
        session.cert = cert
        return session

    def org_cert(self, organ_id: str) -> tuple[str, str]:
        keys = self.live.keys_dir
        return str(keys / f"{organ_id}.cert.pem"), str(keys / f"{organ_id}.key.pem")

    def post(self, body: bytes, cert: tuple[str, str] | None = None, headers: dict | None = None) -> requests.Response:
        return self.session(cert).post(
            f"{self.url}/soap",
            data=body,
            timeout=30,
            headers={"Content-Type": "text/xml; charset=utf-8"} | (headers or {}),
        )


@pytest.fixture
def proxy(behind_proxy, tmp_path) -> Iterator[Proxy]:
    try:
        with nginx_tls_proxy(behind_proxy.url, behind_proxy.keys_dir, tmp_path / "nginx") as url:
            yield Proxy(url, str(behind_proxy.keys_dir / "ca.pem"), behind_proxy)
    except ProxyFailed as failure:
        pytest.fail(str(failure))


def map_cert(live: LiveConnector, system_id: str, cert: str) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "connector",
            "credentials",
            "map-cert",
            system_id,
            cert,
            "--data-dir",
            str(live.runtime.settings.data_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def test_a_mapped_client_certificate_authenticates_a_zeep_client(proxy):
    """The integrator's view: zeep over HTTPS with the organisation's certificate, no password."""
    cert = proxy.org_cert(guide.ONESTOP.organ_id)
    map_cert(proxy.live, ONESTOP, cert[0])
    client = zeep.Client(
        f"{proxy.url}/soap?wsdl", transport=Transport(session=proxy.session(cert), timeout=10, operation_timeout=30)
    )
    service = client.create_service("{urn:vn:lienthong:connector:1}ConnectorPort", f"{proxy.url}/soap")
    receipt = service.sendDocument(
        messageId="mtls-1",
        edxmlPackage=proxy.live.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert receipt.state == "accepted"


def test_an_unmapped_certificate_from_the_right_ca(proxy):
    body = envelope("", send_body(proxy.live))
    with unchanged(proxy.live):
        assert "not mapped" in refused_response(
            proxy.post(body, proxy.org_cert(guide.ONESTOP.organ_id)), ErrorCode.UNAUTHENTICATED
        )


def test_a_certificate_from_an_unknown_ca_is_refused_even_if_mapped(proxy, tmp_path):
    """nginx reports FAILED; the connector then ignores the certificate, mapped or not."""
    impostor = self_signed_client(tmp_path)
    map_cert(proxy.live, ONESTOP, impostor[0])
    body = envelope("", send_body(proxy.live))
    with unchanged(proxy.live):
        assert "no credentials" in refused_response(proxy.post(body, impostor), ErrorCode.UNAUTHENTICATED)


def test_password_text_over_tls(proxy):
    header = usernametoken(ONESTOP, proxy.live.password(ONESTOP), password_type=None, digest=False)
    assert proxy.post(envelope(header, send_body(proxy.live))).status_code == 200


def test_http_basic_over_tls_with_zeep(proxy):
    """As an ASMX-era client without WS-Security would: HTTP Basic on the HTTPS connection."""
    session = proxy.session()
    session.auth = (ONESTOP, proxy.live.password(ONESTOP))
    client = zeep.Client(
        f"{proxy.url}/soap?wsdl", transport=Transport(session=session, timeout=10, operation_timeout=30)
    )
    service = client.create_service("{urn:vn:lienthong:connector:1}ConnectorPort", f"{proxy.url}/soap")
    receipt = service.sendDocument(
        messageId="basic-1",
        edxmlPackage=proxy.live.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert receipt.state == "accepted"


def test_a_password_digest_through_the_proxy(proxy):
    """The embedded default's method works unchanged behind the proxy."""
    session = proxy.session()
    client = zeep.Client(
        f"{proxy.url}/soap?wsdl",
        transport=Transport(session=session, timeout=10, operation_timeout=30),
        wsse=UsernameToken(ONESTOP, proxy.live.password(ONESTOP), use_digest=True),
    )
    service = client.create_service("{urn:vn:lienthong:connector:1}ConnectorPort", f"{proxy.url}/soap")
    assert (
        service.sendDocument(
            messageId="digest-1",
            edxmlPackage=proxy.live.sign(guide.send_package()),
            kind="INCOMING",
            senderUsername="cbtiepnhan",
            dossier=DOSSIER,
        ).state
        == "accepted"
    )


def test_basic_with_a_wrong_password_over_tls(proxy):
    body = envelope("", send_body(proxy.live))
    wrong = "Basic " + base64.b64encode(f"{ONESTOP}:not the password".encode()).decode()
    with unchanged(proxy.live):
        refused_response(proxy.post(body, headers={"Authorization": wrong}), ErrorCode.UNAUTHENTICATED)
