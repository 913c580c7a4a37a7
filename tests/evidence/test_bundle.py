"""Evidence bundles: exported with the connector's CLI, verified offline with ``python -m signing
verify-bundle`` (and by hand with xmlsec1 and openssl, as docs/evidence.md shows); any changed
byte fails and the verdict says where."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from connector.evidence.bundle import export_bundle
from connector.serving.runtime import Runtime
from signing import CONNECTOR_ORG, BundleLayout, SignerPin
from signing import verify_bundle as offline_verify
from simulators import guide
from tests.evidence.conftest import make_runtime, play_guide

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = SignerPin(organ_id=CONNECTOR_ORG.organ_id)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def verify_bundle(bundle: Path, *trust: Path) -> dict:
    result = run(
        "signing",
        "verify-bundle",
        str(bundle),
        *(f"--trust={t}" for t in trust),
        "--connector",
        CONNECTOR.organ_id,
        "--json",
    )
    verdict = json.loads(result.stdout)
    assert result.returncode == (0 if verdict["valid"] else 1)
    return verdict


def load_certificates(path: Path) -> list:
    return x509.load_pem_x509_certificates(path.read_bytes())


def failed(verdict: dict) -> list[str]:
    return [c["where"] for c in verdict["checks"] if not c["ok"]]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[Runtime]:
    """One connector with the guide's exchange for the whole module: these tests only read it."""
    built = make_runtime(tmp_path_factory.mktemp("connector"))
    play_guide(built)
    yield built
    built.close()


@pytest.fixture(scope="module")
def bundle(runtime) -> Path:
    """Exported as an operator would, with the CLI; tests change copies only."""
    data_dir = runtime.settings.data_dir
    path = data_dir / "bundle.zip"
    result = run("connector", "evidence", "export", guide.DOSSIER_CODE, "--out", str(path), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    return path


def test_a_fresh_bundle_verifies_offline(bundle, runtime):
    result = run(
        "signing",
        "verify-bundle",
        str(bundle),
        "--trust",
        str(runtime.dev_keys.ca_path),
        "--connector",
        CONNECTOR.organ_id,
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"VALID: every check of {bundle} passed (subject {guide.DOSSIER_CODE})")
    verdict = verify_bundle(bundle, runtime.dev_keys.ca_path)
    checked = {c["where"].split("/")[0] for c in verdict["checks"]}
    assert {"META-INF", "evidence", "packages", "receipts", "timeline.json"} <= checked
    assert sum(c["where"].startswith("packages/") for c in verdict["checks"]) == 2
    assert verdict["head"]["seq"] == 6


def test_a_bundle_by_message_id_holds_that_exchange(runtime, tmp_path):
    [exchange] = runtime.store.search_exchanges()
    data = export_bundle(runtime.store, runtime.bundle_sources(), exchange.exchange_id)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[:3] == [BundleLayout.MIMETYPE, BundleLayout.MANIFEST, BundleLayout.README]
    assert sum(n.startswith(BundleLayout.RECORDS) for n in names) == 6


def test_an_unknown_key_is_refused(runtime, tmp_path):
    data_dir = str(runtime.settings.data_dir)
    result = run(
        "connector", "evidence", "export", "no-such-dossier", "--out", str(tmp_path / "x.zip"), "--data-dir", data_dir
    )
    assert result.returncode == 1
    assert result.stderr == "error: no exchange with message id or dossier 'no-such-dossier'\n"


def test_a_wrong_trust_anchor_fails(bundle, tmp_path):
    other = make_runtime(tmp_path / "other")
    verdict = verify_bundle(bundle, other.dev_keys.ca_path)
    assert not verdict["valid"]
    assert failed(verdict)[0] == BundleLayout.MANIFEST
    other.close()


def test_any_flipped_byte_fails(bundle, runtime, tmp_path):
    original = bundle.read_bytes()
    trust = load_certificates(runtime.dev_keys.ca_path)
    step = max(1, len(original) // 200)
    for offset in range(0, len(original), step):
        changed = bytearray(original)
        changed[offset] ^= 0x01
        verdict = offline_verify(bytes(changed), trust, CONNECTOR)
        assert not verdict.valid, f"a flipped bit at offset {offset} went unnoticed"


def rezip(bundle: Path, name: str, change) -> Path:
    """The bundle with one member's content changed, re-zipped cleanly (CRCs right)."""
    out = bundle.with_name("changed.zip")
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == name else data)
    return out


def test_a_changed_member_is_named(bundle, runtime):
    trust = load_certificates(runtime.dev_keys.ca_path)
    for name in zipfile.ZipFile(bundle).namelist()[2:]:  # the README too
        changed = rezip(bundle, name, lambda d: d[:-2] + bytes([d[-2] ^ 0x01]) + d[-1:])
        verdict = offline_verify(changed.read_bytes(), trust, CONNECTOR)
        assert name in [c.where for c in verdict.failures], (name, verdict.failures)


def test_a_changed_manifest_breaks_its_signature(bundle, runtime):
    verdict = verify_bundle(
        rezip(bundle, BundleLayout.MANIFEST, lambda d: d.replace(b'size="', b'size="1', 1)), runtime.dev_keys.ca_path
    )
    assert failed(verdict) == [BundleLayout.MANIFEST]


def test_the_head_is_time_stamped_when_a_tsa_is_configured(tsa, tmp_path):
    stamped = make_runtime(tmp_path, tsa_url=tsa.url)
    play_guide(stamped)
    path = tmp_path / "stamped.zip"
    path.write_bytes(export_bundle(stamped.store, stamped.bundle_sources(), guide.DOSSIER_CODE))
    assert tsa.requests == 1
    verdict = verify_bundle(path, stamped.dev_keys.ca_path, tsa.ca_path)
    assert verdict["valid"], failed(verdict)
    assert verdict["timestamp"] is not None
    assert BundleLayout.HEAD_TIMESTAMP in zipfile.ZipFile(path).namelist()
    # Without the TSA's CA the time-stamp is not trusted, and the verdict says so.
    assert failed(verify_bundle(path, stamped.dev_keys.ca_path)) == [BundleLayout.HEAD_TIMESTAMP]
    stamped.close()


def test_signing_alone_verifies_bundles_without_the_connector():
    code = "import sys, signing.cli; sys.exit(any(m.split('.')[0] == 'connector' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 not installed (.ci/ensure-tools installs it)")
def test_an_auditor_can_check_it_by_hand(tsa, tmp_path):
    """The commands of docs/evidence.md, "By hand", with xmlsec1, openssl and sha256."""
    stamped = make_runtime(tmp_path, tsa_url=tsa.url)
    play_guide(stamped)
    out = tmp_path / "unzipped"
    path = tmp_path / "bundle.zip"
    path.write_bytes(export_bundle(stamped.store, stamped.bundle_sources(), guide.DOSSIER_CODE))
    zipfile.ZipFile(path).extractall(out)
    ca = str(stamped.dev_keys.ca_path)
    doc = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
    script = (
        doc.split("<!-- by-hand:start -->")[1].split("<!-- by-hand:end -->")[0].strip().strip("`").removeprefix("sh")
    )
    connector_cert = tmp_path / "connector.pem"
    connector_cert.write_bytes(stamped.service.config.identity.certificate.public_bytes(Encoding.PEM))
    env = {
        "PATH": os.environ["PATH"],
        "CA": ca,
        "TSA_CA": str(tsa.ca_path),
        "CONNECTOR_CERT": str(connector_cert),
        "BUNDLE": str(path),
    }
    result = subprocess.run(["bash", "-c", script], cwd=out, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bundle checked by hand: chain ends at the signed head" in result.stdout
    record = next((out / "evidence" / "records").iterdir())
    record.write_bytes(record.read_bytes().replace(b'"seq"', b'"Seq"'))
    result = subprocess.run(["bash", "-c", script], cwd=out, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and record.name in result.stdout + result.stderr
    stamped.close()
