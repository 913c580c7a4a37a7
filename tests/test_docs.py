"""The documentation states what the code does."""

from __future__ import annotations

import re
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


def test_every_fault_code_is_triggered_by_some_test():
    from connector.errors import ErrorCode

    sources = [ROOT / "tests" / "soap" / "test_faults.py", ROOT / "tests" / "store" / "test_store.py"]
    sources.append(ROOT / "tests" / "soap" / "test_versions.py")  # VersionMismatch
    sources += sorted((ROOT / "tests" / "service").glob("test_*.py"))
    sources += sorted((ROOT / "tests" / "security").glob("test_*.py"))
    used = {name for path in sources for name in re.findall(r"ErrorCode\.([A-Z_]+)", path.read_text(encoding="utf-8"))}
    assert used == {code.name for code in ErrorCode}
