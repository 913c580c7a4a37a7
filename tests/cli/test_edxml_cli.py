"""``python -m connector edxml ...`` as an operator types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulators import guide

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def all_samples(samples: Path) -> list[Path]:
    return sorted(samples.glob("*.edxml"))


BROKEN = {"edoc.edxml", "edoc_new.edxml"}


@pytest.mark.timeout(300)  # 38 command-line runs, each a fresh interpreter: slow on a busy machine
def test_inspect_and_validate_every_shared_sample(samples):
    for path in all_samples(samples):
        inspected = run("edxml", "inspect", str(path))
        validated = run("edxml", "validate", str(path))
        assert "Traceback" not in inspected.stderr + validated.stderr
        if path.name in BROKEN:
            assert inspected.returncode == 1 and validated.returncode == 1
            assert inspected.stderr.count("\n") == 1 and inspected.stderr.startswith("error: ")
        else:
            assert inspected.returncode == 0, inspected.stderr
            assert validated.returncode == 0, validated.stdout
            assert ("Status package" in inspected.stdout) == path.name.startswith("status")


def test_inspect_json_reports_attachment_size_and_digest(samples):
    result = run("edxml", "inspect", "--json", str(samples / "874e0f18-90dc-45fb-989a-65401470ba84.edxml"))
    facts = json.loads(result.stdout)
    assert facts["type"] == "document"
    assert facts["sender"]["organ_id"] == "vxp.saas.03"
    (attachment,) = facts["attachments"]
    assert attachment["name"] == "1761211722949_TestTrucLienThong.pdf"
    assert attachment["size"] == 11229 and len(attachment["sha256"]) == 64


def test_inspect_status_says_what_it_answers(samples):
    out = run("edxml", "inspect", str(samples / "status_finish_06.edxml")).stdout
    assert "06 finished" in out and "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT" in out


def test_placeholder_signature_is_reported_unsigned(samples):
    out = run("edxml", "inspect", str(samples / "edoc_update.edxml")).stdout
    assert "placeholder outside the XML-DSig namespace (unsigned)" in out


def test_validate_lists_every_located_error(tmp_path):
    package = guide.send_package()
    package.code.number = "1" * 20
    package.recipients[0].organ_id = "bad id"
    path = tmp_path / "bad.edxml"
    from connector.edxml import build

    path.write_bytes(build(package).replace(b"<edXML:Priority>0<", b"<edXML:Priority>8<"))
    result = run("edxml", "validate", str(path))
    assert result.returncode == 1
    assert "INVALID (3 errors" in result.stdout
    assert "/MessageHeader/Code/CodeNumber" in result.stdout and "line " in result.stdout


def test_build_from_json_spec(tmp_path):
    (tmp_path / "hoso.pdf").write_bytes(guide.dossier_pdf())
    spec = {
        "from": {"organ_id": "000.00.13.H31", "organ_name": "Trung tâm Phục vụ hành chính công"},
        "to": [{"organ_id": "000.00.31.H31", "organ_name": "Sở Tư pháp"}],
        "subject": "Bo_Thu_Tuc_Cap_Huyen-221126-0003",
        "code": {"number": "02", "notation": "LT_iGate"},
        "promulgation": {"place": "Hưng Yên", "date": "2022/11/26"},
        "other": {"priority": 0},
        "attachments": [{"path": "hoso.pdf", "description": "Thành phần hồ sơ"}],
    }
    spec["sender"], spec["recipients"] = spec.pop("from"), spec.pop("to")
    (tmp_path / "spec.json").write_text(json.dumps(spec, ensure_ascii=False))
    out = tmp_path / "out.edxml"
    built = run("edxml", "build", "--from-json", str(tmp_path / "spec.json"), "--out", str(out))
    assert built.returncode == 0, built.stderr
    facts = json.loads(run("edxml", "inspect", "--json", str(out)).stdout)
    assert facts["code"] == {"number": "02", "notation": "LT_iGate"}
    assert facts["attachments"][0]["name"] == "hoso.pdf"
    assert facts["attachments"][0]["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"sender": {"organ_id": "x"}, "recipients": [], "subject": "s", "colour": 1}, "unknown key 'colour'"),
        (
            {
                "sender": {"organ_id": "000.00.13.H31"},
                "recipients": [{"organ_id": "000.00.31.H31"}],
                "subject": "s",
                "attachments": [{"path": "missing.pdf"}],
            },
            "cannot read",
        ),
        (
            {
                "sender": {"organ_id": "000.00.13.H31"},
                "recipients": [{"organ_id": "000.00.31.H31"}],
                "subject": "s",
                "due_date": "26/11/2022",
            },
            "$.due_date",
        ),
        ({"sender": {"organ_id": "000.00.13.H31"}, "recipients": [], "subject": "s"}, "required element To"),
    ],
)
def test_build_refuses_bad_specs_with_one_line(tmp_path, spec, message):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run("edxml", "build", "--from-json", str(tmp_path / "spec.json"), "--out", str(tmp_path / "o.edxml"))
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_missing_file_is_one_line_not_a_traceback(tmp_path):
    result = run("edxml", "inspect", str(tmp_path / "nope.edxml"))
    assert result.returncode == 2 and result.stderr.startswith("error: cannot read")
