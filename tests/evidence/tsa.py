"""A local RFC 3161 time-stamping authority: ``openssl ts -reply`` behind a small HTTP handler on
127.0.0.1, with its own CA (the TSA certificate has the critical id-kp-timeStamping usage)."""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """
[ tsa ]
default_tsa = local_tsa
[ local_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signer, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(signer, hashes.SHA256())


@dataclass
class LocalTsa:
    url: str
    ca_path: Path
    requests: int = 0


def start_tsa(directory: Path, with_chain: bool = False) -> tuple[LocalTsa, ThreadingHTTPServer]:
    """``with_chain``: tokens also carry the CA certificate (``certs``), in issuing order – the
    certificate set OpenSSL then writes is not in DER order, as with many real TSAs."""
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("Test TSA CA"), _name("Test TSA CA"), ca_key.public_key(), ca_key, ca=True)
    tsa = _certificate(_name("Test TSA"), ca.subject, tsa_key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (directory / "tsa-ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    (directory / "tsa.key").write_bytes(
        tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "serial").write_text("01\n")
    config = directory / "tsa.cnf"
    text = CONFIG.format(dir=directory)
    if with_chain:
        text = text.replace("ess_cert_id_chain = no", "ess_cert_id_chain = yes\ncerts = $dir/tsa-ca.pem")
    config.write_text(text)
    local = LocalTsa("", directory / "tsa-ca.pem")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with tempfile.TemporaryDirectory() as scratch:
                (Path(scratch) / "q.tsq").write_bytes(query)
                subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(config), "-queryfile", "q.tsq", "-out", "r.tsr"],
                    cwd=scratch,
                    check=True,
                    capture_output=True,
                )
                answer = (Path(scratch) / "r.tsr").read_bytes()
            local.requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    local.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return local, server
