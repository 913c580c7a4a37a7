"""Running a simulator by hand: ``python -m simulators docmgmt|onestop`` and its JSON screens."""

from __future__ import annotations

import argparse
import json

import requests

from simulators.cli import parser


def parse(*argv: str) -> argparse.Namespace:
    return parser().parse_args(argv)


def test_defaults_match_the_sample_directory():
    docmgmt = parse("docmgmt")
    assert (docmgmt.port, docmgmt.organ_id, docmgmt.connector) == (8092, "000.00.31.H31", "http://127.0.0.1:8080")
    onestop = parse("onestop", "--port", "9091", "--connector", "http://10.0.0.5:8080")
    assert (onestop.port, onestop.organ_id, onestop.connector) == (9091, "000.00.13.H31", "http://10.0.0.5:8080")


def test_an_agency_without_accounts_is_refused_before_serving(tmp_path, capsys):
    directory = tmp_path / "directory.json"
    directory.write_text(
        json.dumps({"organizations": [{"organ_id": "000.00.31.H31", "name": "Sở Tư pháp"}]}), encoding="utf-8"
    )
    args = parse(
        "docmgmt",
        "--directory",
        str(directory),
        "--data-dir",
        str(tmp_path / "sim"),
        "--keys-dir",
        str(tmp_path / "keys"),
    )
    assert args.run(args) == 2
    assert "no accounts for 000.00.31.H31" in capsys.readouterr().err


def test_a_missing_directory_file_is_one_line_of_error(tmp_path, capsys):
    args = parse("onestop", "--directory", str(tmp_path / "absent.json"), "--data-dir", str(tmp_path))
    assert args.run(args) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_running_simulator_shows_its_screens_as_json(stack):
    stack.send("INCOMING")
    stack.deliver()
    screens = requests.get(f"{stack.docmgmt_url}/", timeout=10).json()
    [row] = screens["registration_queue"]
    assert (row["arrival_number"], row["number_symbol"]) == (1, "02/LT_iGate")
    [dossier] = requests.get(f"{stack.onestop_url}/", timeout=10).json()["dossiers"]
    assert dossier["state"] == "arrived"
