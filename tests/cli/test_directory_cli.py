"""``python -m connector directory import|list`` as an operator types it."""

from __future__ import annotations

import json

from tests.cli.test_edxml_cli import run


def test_import_csv_and_json_then_list(tmp_path):
    data = str(tmp_path / "data")
    (tmp_path / "accounts.csv").write_text(
        "username,organ_id,role,full_name\nnguyenvana,000.00.31.H31,specialist,Nguyễn Văn A\n"
    )
    imported = run("directory", "import", str(tmp_path / "accounts.csv"), "--data-dir", data)
    assert imported.returncode == 0 and "+ accounts nguyenvana" in imported.stdout and "1 added" in imported.stdout
    (tmp_path / "map.json").write_text(
        json.dumps({"username_map": [{"onestop_username": "a.motcua", "docmgmt_username": "nguyenvana"}]})
    )
    assert run("directory", "import", str(tmp_path / "map.json"), "--data-dir", data).returncode == 0
    listing = run("directory", "list", "--data-dir", data).stdout
    assert "nguyenvana" in listing and "a.motcua         -> nguyenvana" in listing
    assert "2.000908.000.00.00.H31" not in listing  # operator commands never seed the sample directory
    as_json = json.loads(run("directory", "list", "--json", "--data-dir", data).stdout)
    assert {
        "username": "nguyenvana",
        "organ_id": "000.00.31.H31",
        "role": "specialist",
        "full_name": "Nguyễn Văn A",
    } in as_json["accounts"]


def test_bad_directory_files_are_one_line_errors(tmp_path):
    data = str(tmp_path / "data")
    (tmp_path / "bad.csv").write_text("colour,size\nred,1\n")
    (tmp_path / "bad.json").write_text(
        json.dumps({"procedures": [{"code": "X", "name": "x", "agency_id": "a", "interconnection": "maybe"}]})
    )
    for name, message in (
        ("bad.csv", "matches no record type"),
        ("bad.json", "procedures[0]: interconnection 'maybe' is not valid"),
    ):
        result = run("directory", "import", str(tmp_path / name), "--data-dir", data)
        assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1
