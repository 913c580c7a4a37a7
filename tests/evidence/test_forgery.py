"""A forger outside the connector (docs/evidence.md, threat model, type 1): a partner whose
certificate is under the same CA rewrites a bundle and re-signs it. ``python -m signing
verify-bundle`` with the connector pinned, and the by-hand procedure, refuse it and say who signed.
Also: the container's member order, the bounded chain part, the README, and time-stamps whose
tokens carry their certificate chain (``--require-timestamp``)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from connector.clock import utcnow
from connector.evidence.bundle import export_bundle
from signing import (
    HEAD_PROFILE,
    MANIFEST_PROFILE,
    BundleLayout,
    ChainLink,
    Head,
    ManifestEntry,
    SigningIdentity,
    SigningOptions,
    canonical_json,
    link_hash,
    manifest_xml,
    sha256_hex,
    sign_xml,
    write_zip,
)
from simulators import guide
from tests.evidence.conftest import make_runtime, play_guide
from tests.evidence.tsa import start_tsa

ROOT = Path(__file__).resolve().parents[2]
L = BundleLayout


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A connector with the guide's exchange, its bundle, the CA, the connector's certificate (as
    its operator hands it to an auditor) and a partner's identity under the same CA."""
    base = tmp_path_factory.mktemp("forgery")
    runtime = make_runtime(base / "data")
    play_guide(runtime)
    bundle = base / "bundle.zip"
    bundle.write_bytes(export_bundle(runtime.store, runtime.bundle_sources(), guide.DOSSIER_CODE))
    connector_cert = base / "connector.pem"
    connector_cert.write_bytes(runtime.service.config.identity.certificate.public_bytes(Encoding.PEM))
    world = {
        "bundle": bundle,
        "ca": runtime.dev_keys.ca_path,
        "connector_cert": connector_cert,
        "partner": runtime.dev_keys.identity(guide.send_package().sender.organ_id),
        "base": base,
    }
    runtime.close()
    return world


def members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def forge(data: bytes, signer: SigningIdentity) -> bytes:
    """What the issue's forger did: a record rewritten (actor renamed, time backdated), the chain
    recomputed to the head, and the head and the manifest re-signed with the partner's key."""
    files = members(data)
    name = sorted(n for n in files if n.startswith(L.RECORDS))[1]
    content = json.loads(files[name]) | {"actor": "000.00.13.H31/someone-else", "at": "2026-01-02T03:04:05+00:00"}
    files[name] = canonical_json(content)
    links = [ChainLink.parse(line) for line in files[L.CHAIN].decode().splitlines()]
    rebuilt, prev = [], links[0].prev_sha256
    for link in links:
        digest = sha256_hex(files[name]) if link.seq == content["seq"] else link.content_sha256
        rebuilt.append(ChainLink(link.seq, digest, prev, link_hash(prev, digest)))
        prev = rebuilt[-1].record_sha256
    files[L.CHAIN] = "".join(f"{link.line()}\n" for link in rebuilt).encode()
    genuine = Head.from_signed(etree.fromstring(files[L.HEAD]))
    head = Head(genuine.seq, prev, genuine.signed_at, genuine.number, genuine.prev_head_sha256)
    options = SigningOptions(check_sender=False)
    files[L.HEAD] = sign_xml(head.to_xml(), signer, options, HEAD_PROFILE)
    files.pop(L.HEAD_TIMESTAMP, None)
    del files[L.MIMETYPE], files[L.MANIFEST]
    entries = [ManifestEntry(n, sha256_hex(d), len(d)) for n, d in sorted(files.items())]
    manifest = sign_xml(manifest_xml(guide.DOSSIER_CODE, utcnow(), entries), signer, options, MANIFEST_PROFILE)
    everything = {L.MIMETYPE: L.MEDIA_TYPE.encode(), L.MANIFEST: manifest} | files
    return write_zip([(n, everything[n]) for n in L.order(list(everything))])


def verify(bundle: Path, ca: Path, *options: str) -> tuple[int, dict, str]:
    result = run("signing", "verify-bundle", str(bundle), "--trust", str(ca), *options, "--json")
    return result.returncode, json.loads(result.stdout or "{}"), result.stderr


def by_hand(bundle: Path, env: dict[str, str], where: Path) -> subprocess.CompletedProcess[str]:
    """The by-hand procedure of docs/evidence.md, as an auditor runs it."""
    doc = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
    script = doc.split("<!-- by-hand:start -->")[1].split("<!-- by-hand:end -->")[0].strip().strip("`")
    shutil.rmtree(where, ignore_errors=True)
    zipfile.ZipFile(bundle).extractall(where)
    env = {"PATH": os.environ["PATH"], "BUNDLE": str(bundle)} | env
    return subprocess.run(
        ["bash", "-c", script.removeprefix("sh")], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_bundle_re_signed_by_a_partner_is_refused_naming_the_signer(world):
    forged = world["base"] / "forged.zip"
    forged.write_bytes(forge(world["bundle"].read_bytes(), world["partner"]))
    partner_org = world["partner"].organ_id
    # Without a pin it verifies: that is the hole the pin closes.
    code, verdict, err = verify(forged, world["ca"], "--any-signer")
    assert code == 0 and verdict["valid"], verdict
    assert "WARNING: --any-signer" in err
    for pin in (("--connector-cert", str(world["connector_cert"])), ("--connector", "000.00.99.H31")):
        code, verdict, _ = verify(forged, world["ca"], *pin)
        assert code == 1 and not verdict["valid"]
        [failure] = [c for c in verdict["checks"] if not c["ok"]]
        assert failure["where"] == L.MANIFEST
        assert failure["detail"].startswith("signer REFUSED: signed by serialNumber=" + partner_org), failure


def test_a_signer_must_be_named(world):
    result = run("signing", "verify-bundle", str(world["bundle"]), "--trust", str(world["ca"]))
    assert result.returncode == 2
    assert "one of the arguments --connector-cert --connector --any-signer is required" in result.stderr


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 not installed (.ci/ensure-tools installs it)")
def test_the_by_hand_procedure_refuses_the_forgery_and_accepts_the_genuine(world, tmp_path):
    env = {"CA": str(world["ca"]), "CONNECTOR_CERT": str(world["connector_cert"]), "TSA_CA": "/dev/null"}
    genuine = by_hand(world["bundle"], env, tmp_path / "genuine")
    assert genuine.returncode == 0, genuine.stdout + genuine.stderr
    forged = tmp_path / "forged.zip"
    forged.write_bytes(forge(world["bundle"].read_bytes(), world["partner"]))
    result = by_hand(forged, env, tmp_path / "forged")
    assert result.returncode != 0
    assert "failed to verify" in result.stderr, result.stderr


def swapped(data: bytes) -> bytes:
    """Two members swapped, the zip otherwise canonical (every member still the same bytes)."""
    items = list(members(data).items())
    items[4], items[5] = items[5], items[4]
    return write_zip(items)


def test_swapped_members_are_refused(world, tmp_path):
    bundle = tmp_path / "swapped.zip"
    bundle.write_bytes(swapped(world["bundle"].read_bytes()))
    code, verdict, _ = verify(bundle, world["ca"], "--connector-cert", str(world["connector_cert"]))
    assert code == 1
    assert {
        "where": "bundle",
        "ok": False,
        "detail": "the members are not in the canonical order (docs/evidence.md)",
    } in (verdict["checks"])
    if shutil.which("xmlsec1"):
        env = {"CA": str(world["ca"]), "CONNECTOR_CERT": str(world["connector_cert"]), "TSA_CA": "/dev/null"}
        result = by_hand(bundle, env, tmp_path / "swapped")
        assert result.returncode == 1 and "bundle: members out of order" in result.stdout


def test_the_readme_says_who_signed_and_which_head(world):
    text = members(world["bundle"].read_bytes())[L.README].decode("utf-8")
    certificate = x509.load_pem_x509_certificate(world["connector_cert"].read_bytes())
    assert text.startswith("GÓI CHỨNG CỨ / EVIDENCE BUNDLE: " + guide.DOSSIER_CODE)
    assert "Đầu chuỗi đã ký số 1: bản ghi 6" in text and "Signed head 1: record 6" in text
    assert text.count(certificate.fingerprint(hashes.SHA256()).hex()) == 2  # in both languages
    assert text.count("--connector 000.00.99.H31") == 2


def test_the_chain_part_ends_at_the_first_head_covering_the_dossier(tmp_path):
    runtime = make_runtime(tmp_path / "data")
    play_guide(runtime)
    runtime.notary.sign_head()  # head 1 covers the dossier (record 6)
    for i in range(40):
        runtime.store.evidence.record_action("admin:x", utcnow(), {"action": "look", "n": i})
    runtime.notary.sign_head()  # head 2, far later
    files = members(export_bundle(runtime.store, runtime.bundle_sources(), guide.DOSSIER_CODE))
    runtime.close()
    lines = files[L.CHAIN].decode().splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(1, 7))
    assert Head.from_signed(etree.fromstring(files[L.HEAD])).number == 1


@pytest.fixture
def chained_tsa(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (the local time-stamping authority needs `openssl ts`)")
    local, server = start_tsa(tmp_path_factory.mktemp("tsa"), with_chain=True)
    yield local
    server.shutdown()
    server.server_close()


def test_time_stamps_with_a_certificate_chain_and_require_timestamp(world, chained_tsa, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(world["base"] / "data", data_dir)
    config = tmp_path / "connector.toml"
    config.write_text(f'tsa_url = "{chained_tsa.url}"\ntsa_trust = ["{chained_tsa.ca_path}"]\n')
    # `evidence sign` used to fail here: ASN.1 ... InvalidSetOrdering.
    result = run("connector", "evidence", "sign", "--config", str(config), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert f"time-stamped by {chained_tsa.url}" in result.stdout
    result = run("connector", "evidence", "verify", "--config", str(config), "--data-dir", str(data_dir))
    assert result.returncode == 0 and "time-stamps not checked" not in result.stdout, result.stdout
    out = tmp_path / "stamped.zip"
    result = run(
        "connector", "evidence", "export", guide.DOSSIER_CODE, "--out", str(out), "--config", str(config),
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pin = ("--connector-cert", str(world["connector_cert"]))
    code, verdict, _ = verify(out, world["ca"], "--trust", str(chained_tsa.ca_path), *pin, "--require-timestamp")
    assert code == 0, verdict
    assert verdict["timestamp"] and verdict["head_number"] == 2  # head 1 was unstamped: the export signed head 2
    # The original bundle has no time-stamp: required, it fails.
    code, verdict, _ = verify(world["bundle"], world["ca"], *pin, "--require-timestamp")
    assert code == 1
    assert [c["where"] for c in verdict["checks"] if not c["ok"]] == [L.HEAD_TIMESTAMP]
    if shutil.which("xmlsec1"):
        env = {
            "CA": str(world["ca"]),
            "CONNECTOR_CERT": str(world["connector_cert"]),
            "TSA_CA": str(chained_tsa.ca_path),
        }
        result = by_hand(out, env, tmp_path / "stamped")
        assert result.returncode == 0, result.stdout + result.stderr
