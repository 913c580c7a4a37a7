"""The documentation states what the code does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_contract_fault_table_is_the_one_in_the_code():
    table = subprocess.run(
        [sys.executable, "-m", "connector", "faults", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert table.strip() in (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "exec make test" in ci


def test_the_fault_record_keeps_what_each_process_saw(tmp_path, monkeypatch):
    """The record behind the session's check that every documented fault code is raised by some
    test (``tests/conftest.py``): each process appends the codes it saw, once each, to its file."""
    from testkit import faults

    monkeypatch.setenv(faults.RECORD, str(tmp_path))
    for code in ("Client.Example", "Server.Example", "Client.Example"):
        faults.saw(code)
    (tmp_path / "another-worker.codes").write_text("Client.Other\n", encoding="utf-8")
    assert (tmp_path / f"{os.getpid()}.codes").read_text(encoding="utf-8").split() == [
        "Client.Example",
        "Server.Example",
    ]
    assert faults.seen(tmp_path) == {"Client.Example", "Server.Example", "Client.Other"}
