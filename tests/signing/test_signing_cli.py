"""The command line as an auditor uses it: ``python -m signing sign|verify|keys init``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from signing.cli import main
from signing.keys import init_dev_keys
from testkit.packages import SAMPLES, SENDER

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signing", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_keys_init_creates_the_development_key_set_and_is_idempotent(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs-in.json"
    orgs.write_text(json.dumps([{"organ_id": "000.00.31.H31", "organ_name": "Sở Tư pháp tỉnh Hưng Yên"}]))
    first = run_cli("keys", "init", str(tmp_path / "keys"), "--orgs", str(orgs))
    assert first.returncode == 0, first.stderr
    files = sorted(p.name for p in (tmp_path / "keys").iterdir())
    # .lock serialises concurrent initialisations (connector and simulators starting together)
    assert files == [".lock", "000.00.31.H31.cert.pem", "000.00.31.H31.key.pem", "ca.key.pem", "ca.pem", "orgs.json"]
    assert (tmp_path / "keys" / "000.00.31.H31.key.pem").stat().st_mode & 0o777 == 0o600
    before = (tmp_path / "keys" / "orgs.json").read_text()
    assert run_main("keys", "init", str(tmp_path / "keys"), "--orgs", str(orgs))[0] == 0
    assert (tmp_path / "keys" / "orgs.json").read_text() == before


def test_sign_then_verify_prints_a_human_verdict(dev_keys, package: bytes, tmp_path: Path) -> None:
    source, out = tmp_path / "package.edxml", tmp_path / "signed.edxml"
    source.write_bytes(package)
    entry = dev_keys.orgs[SENDER]
    signed = run_cli(
        "sign", str(source), "--key", str(dev_keys.directory / entry.key_file),
        "--cert", str(dev_keys.directory / entry.cert_file), "--out", str(out),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    verified = run_cli("verify", str(out), "--trust", str(dev_keys.ca_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for expected in ("VALID", "serialNumber=000.00.31.H31", "Organisation:  000.00.31.H31", "rsa-sha256",
                     "AttachmentEncoded", "bao-cao-thang-11.pdf", "sha256 "):  # fmt: skip
        assert expected in verified.stdout


def test_verify_gives_one_line_reason_and_exit_1_for_a_tampered_package(dev_keys, signed: bytes, tmp_path) -> None:
    path = tmp_path / "tampered.edxml"
    path.write_bytes(signed.replace("tháng 11/2022".encode(), "tháng 12/2022".encode()))
    result = run_cli("verify", str(path), "--trust", str(dev_keys.ca_path), "--json")
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False and verdict["reason"] == "DIGEST_MISMATCH"
    assert "Traceback" not in result.stderr


def test_sign_with_pkcs12_and_password_from_environment(dev_keys, package: bytes, sender, tmp_path: Path) -> None:
    p12 = tmp_path / "sender.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"sender",
            sender.private_key,
            sender.certificate,
            None,
            BestAvailableEncryption(b"m\xe1\xba\xadt-kh\xe1\xba\xa9u"),
        )
    )
    source = tmp_path / "package.edxml"
    source.write_bytes(package)
    os.environ["TEST_SIGNING_P12_PASSWORD"] = "mật-khẩu"
    try:
        code, out, err = run_main(
            "sign", str(source), "--p12", str(p12), "--password-env", "TEST_SIGNING_P12_PASSWORD",
            "--xades", "--out", str(tmp_path / "signed.edxml"),
        )  # fmt: skip
    finally:
        del os.environ["TEST_SIGNING_P12_PASSWORD"]
    assert code == 0, err
    code, out, _ = run_main("verify", str(tmp_path / "signed.edxml"), "--trust", str(dev_keys.ca_path), "--json")
    assert code == 0 and json.loads(out)["signing_time"] is not None


def test_archived_verification_time_and_crl_options(dev_keys, signed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "signed.edxml"
    path.write_bytes(signed)
    code, out, _ = run_main("verify", str(path), "--trust", str(dev_keys.ca_path), "--at", "2022-11-26T15:00:00")
    assert code == 1 and out.startswith("INVALID (CERT_NOT_YET_VALID)")
    assert "2022-11-26T15:00:00+07:00" in out  # a time without offset is Vietnam time


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "/nonexistent.edxml", "--trust", "/nonexistent-ca.pem"], "cannot read /nonexistent-ca.pem"),
        (["sign", "/nonexistent.edxml", "--out", "/tmp/x.edxml"], "signing needs --key and --cert"),
        (
            ["sign", "x", "--p12", "/nonexistent.p12", "--password-env", "NO_SUCH_VAR_42", "--out", "y"],
            "NO_SUCH_VAR_42",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run_main(*args)
    assert code == 2
    assert message in err and err.count("\n") == 1


SAMPLE_VERDICTS = {
    "edoc.edxml": "MALFORMED_XML",  # undeclared xlink prefix
    "edoc_new.edxml": "MALFORMED_XML",  # stray bytes before the declaration
}


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared edXML samples not present at {SAMPLES}")
def test_shared_samples_report_unsigned_or_a_precise_failure(dev_keys) -> None:
    samples = sorted(SAMPLES.glob("*.edxml"))
    assert samples
    for sample in samples:
        code, out, err = run_main("verify", str(sample), "--trust", str(dev_keys.ca_path), "--json")
        verdict = json.loads(out)
        assert code == 1 and not err, sample.name
        assert verdict["reason"] == SAMPLE_VERDICTS.get(sample.name, "UNSIGNED"), (sample.name, verdict)
    code, out, _ = run_main("verify", str(SAMPLES / "edoc_new.edxml"), "--trust", str(dev_keys.ca_path))
    assert "4 stray bytes b'1212' before the XML declaration" in out
    code, out, _ = run_main("verify", str(SAMPLES / "edoc_update.edxml"), "--trust", str(dev_keys.ca_path))
    assert "placeholder" in out


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared edXML samples not present at {SAMPLES}")
def test_shared_sample_can_be_signed_and_then_verifies(dev_keys, tmp_path: Path) -> None:
    # The sample's sender is 000.00.00.G22; the mapping says which certificate speaks for it.
    entry = dev_keys.orgs[SENDER]
    out = tmp_path / "signed.edxml"
    code, _, err = run_main(
        "sign", str(SAMPLES / "edoc_update.edxml"), "--key", str(dev_keys.directory / entry.key_file),
        "--cert", str(dev_keys.directory / entry.cert_file), "--out", str(out), "--allow-sender-mismatch",
    )  # fmt: skip
    assert code == 0, err
    org_map = tmp_path / "org-map.json"
    org_map.write_text(json.dumps({"000.00.00.G22": [entry.sha256]}))
    code, out_text, _ = run_main(
        "verify", str(out), "--trust", str(dev_keys.ca_path), "--org-map", str(org_map), "--json"
    )
    assert code == 0, out_text
    assert json.loads(out_text)["organ_id"] == "000.00.00.G22"


def test_both_clis_on_a_package_from_the_foundation_builder(tmp_path: Path) -> None:
    """The guide's result package, built by connector.edxml and signed by the agency."""
    from connector.edxml import build
    from signing.keys import OrgSpec
    from simulators import guide

    keys = init_dev_keys(tmp_path / "keys", [OrgSpec(guide.AGENCY.organ_id, guide.AGENCY.organ_name)])
    entry = keys.orgs[guide.AGENCY.organ_id]
    source, out = tmp_path / "result.edxml", tmp_path / "result.signed.edxml"
    package = guide.result_package()
    source.write_bytes(build(package))
    signed = run_cli(
        "sign",
        str(source),
        "--key",
        str(keys.directory / entry.key_file),
        "--cert",
        str(keys.directory / entry.cert_file),
        "--out",
        str(out),
    )
    assert signed.returncode == 0, signed.stderr
    verified = run_cli("verify", str(out), "--trust", str(keys.ca_path), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert package.attachments[0].sha256 in verified.stdout and "22_CV_LT_MOTCUA.pdf" in verified.stdout
    inspected = subprocess.run(
        [sys.executable, "-m", "connector", "edxml", "inspect", str(out)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "XML-DSig present" in inspected.stdout and "22/CV_LT_MOTCUA" in inspected.stdout
