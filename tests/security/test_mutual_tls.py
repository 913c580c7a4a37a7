"""TLS and client certificates through a real reverse proxy: Debian's nginx terminates TLS,
verifies client certificates against the development CA and passes the verdict to the connector
(docs/security.md shows the same configuration). The clients are real TLS clients holding
certificates from the development CA (``python -m signing keys init``)."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import shutil
import subprocess
import sys
import time
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
from signing.keys import load_private_key_pem
from simulators import guide
from tests.partners.test_delivery_failures import free_port
from tests.security.conftest import envelope, refused, send_body, unchanged, usernametoken
from tests.soap.conftest import ONESTOP, LiveConnector
from tests.soap.test_guide_cases import DOSSIER

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/ensure-tools installs it from Debian)"
)

NGINX_CONF = """
{user}
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_client_certificate {ca};
        # optional_no_ca: a failed verification reaches the app as FAILED (a SOAP fault, not nginx's 400)
        ssl_verify_client optional_no_ca;
        ssl_verify_depth 2;
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
        }}
    }}
}}
"""


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def server_certificate(keys_dir: Path, out: Path) -> None:
    """A TLS server certificate for 127.0.0.1, issued by the development CA."""
    ca_cert = x509.load_pem_x509_certificate((keys_dir / "ca.pem").read_bytes())
    ca_key = load_private_key_pem(keys_dir / "ca.key.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .sign(ca_key, hashes.SHA256())
    )
    (out / "server.key").write_bytes(_pem_key(key))
    (out / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


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
    (out / "impostor.key").write_bytes(_pem_key(key))
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
    work = tmp_path / "nginx"
    work.mkdir()
    server_certificate(behind_proxy.keys_dir, work)
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read this test's private directory
    backend = behind_proxy.url.rsplit(":", 1)[1]
    (work / "nginx.conf").write_text(
        NGINX_CONF.format(user=user, dir=work, port=port, backend=backend, ca=behind_proxy.keys_dir / "ca.pem"),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = Proxy(f"https://127.0.0.1:{port}", str(behind_proxy.keys_dir / "ca.pem"), behind_proxy)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                proxy.session().get(f"{proxy.url}/health", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(work / 'error.log').read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=10)


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
        assert "not mapped" in refused(
            proxy.post(body, proxy.org_cert(guide.ONESTOP.organ_id)), ErrorCode.UNAUTHENTICATED
        )


def test_a_certificate_from_an_unknown_ca_is_refused_even_if_mapped(proxy, tmp_path):
    """nginx reports FAILED; the connector then ignores the certificate, mapped or not."""
    impostor = self_signed_client(tmp_path)
    map_cert(proxy.live, ONESTOP, impostor[0])
    body = envelope("", send_body(proxy.live))
    with unchanged(proxy.live):
        assert "no credentials" in refused(proxy.post(body, impostor), ErrorCode.UNAUTHENTICATED)


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
        refused(proxy.post(body, headers={"Authorization": wrong}), ErrorCode.UNAUTHENTICATED)
