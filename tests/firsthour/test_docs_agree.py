"""The documents agree with the tree and with each other: every relative link in README.md and
docs/*.md resolves, and the 20 MiB send's "copies" figure is stated in one place
(docs/performance.md, from the generated docs/benchmarks-http.md) and only linked elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# A path named in prose or code: `docs/x.md`, `bench/x.py`, ... (backticked, repository-relative).
NAMED = re.compile(
    r"`((?:docs|bench|tests|connector|signing|simulators|schemas|wsdl)/[\w./-]+\.(?:md|py|xsd|wsdl|json))`"
)


def relative_links(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_every_relative_link_resolves():
    broken = [
        f"{doc.relative_to(ROOT)}: {target}"
        for doc in DOCS
        for target in relative_links(doc)
        if not (doc.parent / target.split("#")[0]).exists()
    ]
    assert not broken, broken


def test_every_named_repository_file_exists():
    text = {doc: doc.read_text(encoding="utf-8") for doc in DOCS}
    missing = [
        f"{doc.relative_to(ROOT)}: {name}"
        for doc, body in text.items()
        for name in NAMED.findall(body) + re.findall(r"\bdocs/[\w-]+\.md\b", body)
        if "*" not in name and not (ROOT / name).exists()
    ]
    assert not missing, missing


def test_the_20_mib_copies_figure_has_one_source():
    measured = re.search(
        r"20 MiB peak RSS growth, SQLite \| <= 4 package copies \| ([\d.]+) copies",
        (ROOT / "docs" / "benchmarks-http.md").read_text(encoding="utf-8"),
    )
    assert measured
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert f"| 20 MiB attachment: peak RSS growth | ≤ 4 copies of the package | {measured[1]} copies" in performance
    for name in ("operations.md", "architecture.md"):
        body = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert not re.findall(r"\d+(?:\.\d+)? copies", body), name
        assert "docs/performance.md" in body
