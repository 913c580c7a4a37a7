"""The integration guide's per-stack UsernameToken snippets (docs/integration.md, "The
UsernameToken, per stack") are the code the interop clients run: each block marked
``<!-- tested: FILE -->`` must appear in FILE, line by line in order (indentation aside); a
``...`` line stands for lines left out, and each part between two of them may come from anywhere
in FILE. The clients themselves run in the tests beside this one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration.md"
BLOCK = re.compile(r"<!-- tested: (?P<file>\S+) -->\n```\w*\n(?P<code>.*?)\n```", re.DOTALL)
GAPS = {"...", "// ...", "# ..."}
# One snippet (at least) for each stack the guide promises one for.
STACKS = {
    "tests/interop/java/Client.java",
    "tests/interop/axis/AxisClient.java",
    "tests/interop/csharp/UsernameToken.cs",
    "tests/interop/csharp/client.exe.config",
    "tests/interop/php/client.php",
    "tests/interop/gsoap/client.cpp",
    "tests/interop/node/client.js",
    "tests/interop/perl/client.pl",
    "tests/interop/test_suds.py",
}


def snippets() -> list[tuple[str, str]]:
    return [(match["file"], match["code"]) for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_every_stack_has_a_tested_snippet():
    assert {file for file, _ in snippets()} == STACKS


@pytest.mark.parametrize("file,code", snippets(), ids=[file for file, _ in snippets()])
def test_a_snippet_is_the_code_its_client_runs(file, code):
    source = [line.strip() for line in (ROOT / file).read_text(encoding="utf-8").splitlines()]
    position = 0
    for line in (line.strip() for line in code.splitlines()):
        if line in GAPS:
            position = 0
        if not line or line in GAPS:
            continue
        assert line in source[position:], f"{file} has no line {line!r} (after line {position})"
        position = source.index(line, position) + 1
