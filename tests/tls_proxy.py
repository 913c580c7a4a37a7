"""A real TLS reverse proxy for tests: Debian's nginx on 127.0.0.1 (ephemeral port) with a server
certificate from the development CA, in front of a connector that trusts proxy headers from
127.0.0.1 (``[auth] trusted_proxies``). The same configuration as docs/security.md: nginx
terminates TLS, optionally verifies a client certificate against the development CA, and passes
its verdict in ``X-Forwarded-Proto`` / ``X-SSL-Client-*`` headers (connector/auth/transport.py).
Used by the security tests (client certificates, HTTP Basic) and by the interop clients that can
authenticate only with HTTP Basic over TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from signing.keys import load_private_key_pem
from testkit.net import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

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


def pem_key(key: rsa.RSAPrivateKey) -> bytes:
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
    (out / "server.key").write_bytes(pem_key(key))
    (out / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class ProxyFailed(RuntimeError):
    """nginx did not start; the message carries the end of its error log."""


@contextmanager
def nginx_tls_proxy(backend_url: str, keys_dir: Path, work: Path) -> Iterator[str]:
    """nginx terminating TLS in front of ``backend_url``; yields its ``https://127.0.0.1:PORT``.
    ``keys_dir`` holds the development CA (``ca.pem``, ``ca.key.pem``) clients must trust."""
    assert NGINX is not None, "nginx is not installed (.ci/ensure-tools installs it from Debian)"
    work.mkdir(parents=True, exist_ok=True)
    server_certificate(keys_dir, work)
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read this test's private directory
    backend = backend_url.rsplit(":", 1)[1]
    (work / "nginx.conf").write_text(
        NGINX_CONF.format(user=user, dir=work, port=port, backend=backend, ca=keys_dir / "ca.pem"), encoding="utf-8"
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the CA we pin
        deadline = time.monotonic() + 20
        while True:
            try:
                session.get(f"{url}/health", timeout=2, verify=str(keys_dir / "ca.pem"))
                break
            except requests.ConnectionError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (work / "error.log").read_text(errors="replace")[-2000:]
                    raise ProxyFailed(f"nginx did not start: {log}") from error
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
