"""Operations tests: a real connector, real certificates with chosen validity, a Prometheus
text parser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from prometheus_client.parser import text_string_to_metric_families

from signing import init_dev_keys
from signing.keys import CONNECTOR_ORG
from signing.pki import CertificateRequest, generate_key, issue_signing_certificate
from tests.store.conftest import postgres_url  # noqa: F401 - the PostgreSQL fixture, for these tests too


def identity_files(keys_dir: Path, out: Path, not_before: dt.datetime, validity: dt.timedelta) -> dict[str, Path]:
    """A connector identity issued by the development CA in ``keys_dir`` with the given validity:
    the ``identity_key`` and ``identity_cert`` settings."""
    layout = init_dev_keys(keys_dir, [CONNECTOR_ORG])
    ca_key = serialization.load_pem_private_key(layout.ca_key_path.read_bytes(), None)
    ca_cert = layout.trust_store[0]
    key = generate_key("rsa")
    request = CertificateRequest(
        CONNECTOR_ORG.organ_id, CONNECTOR_ORG.organ_name, not_before=not_before, validity=validity
    )
    cert = issue_signing_certificate(ca_key, ca_cert, key.public_key(), request)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out / "identity.key.pem", out / "identity.cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"identity_key": key_path, "identity_cert": cert_path}


def expired_identity(keys_dir: Path, out: Path) -> dict[str, Path]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    return identity_files(keys_dir, out, start, dt.timedelta(days=365))


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` by name and labels."""
    answer = requests.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
