"""The layout's import rules (docs/architecture.md), checked on the source: product code never
imports tooling, the domain imports no framework, packages are used through their surface, and
no module imports itself round a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("connector", "signing")
TOOLING = {"simulators", "tests", "bench", "server"}
FRAMEWORKS = {"spyne", "zeep", "waitress", "sqlalchemy", "psycopg", "requests"}
# The middle of the architecture: the edXML model, the exchange's rules and the operations.
DOMAIN = [
    "connector.edxml",
    "connector.exchange.states",
    "connector.exchange.routing",
    "connector.exchange.service",
    "connector.exchange.pull",
    "connector.exchange.pipeline",
    "connector.exchange.requests",
    "connector.exchange.directory",
    "connector.exchange.receipts",
    "connector.errors",
    "connector.clock",
    "connector.exchange.authorisation",
    "connector.auth.caller",
]
PACKAGES_WITH_A_SURFACE = ["connector.store", "connector.edxml", "signing"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in PRODUCT for p in (ROOT / top).rglob("*.py")}


def imports(module: str) -> set[str]:
    """Every module ``module`` imports, at any level (a function-level import is still a dependency)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import submodule`` depends on the submodule itself
            found |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names
            }
    return found


def test_product_code_never_imports_tooling():
    offending = {m: sorted(i for i in imports(m) if i.split(".")[0] in TOOLING) for m in MODULES}
    assert {m: i for m, i in offending.items() if i} == {}


@pytest.mark.parametrize("domain", DOMAIN)
def test_the_domain_imports_no_framework(domain):
    modules = [m for m in MODULES if m == domain or m.startswith(domain + ".")]
    used = {i.split(".")[0] for m in modules for i in imports(m)}
    assert used & FRAMEWORKS == set()


@pytest.mark.parametrize("package", PACKAGES_WITH_A_SURFACE)
def test_packages_are_used_through_their_surface(package):
    outside = [m for m in MODULES if not (m == package or m.startswith(package + "."))]
    tests = {module_name(p): p for p in (ROOT / "tests").rglob("*.py")}
    reaching_in = {}
    for m in outside:
        inner = {i for i in imports(m) if i.startswith(package + ".")}
        if inner:
            reaching_in[m] = sorted(inner)
    for name, path in tests.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner = {
            n.module
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(package + ".")
        }
        if inner and package == "connector.store":
            reaching_in[name] = sorted(inner)
    assert reaching_in == {}


def test_no_import_circles():
    graph = {m: {i for i in imports(m) if i in MODULES and i != m} for m in MODULES}
    # A package's __init__ re-exports its modules: an edge from a module to its own package's
    # surface is how Python resolves ``from pkg import name`` during pkg's own import, not a circle.
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".")}
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert circles == []


def test_signing_never_imports_the_connector():
    """Auditors run ``python -m signing verify-bundle`` with the signing package alone."""
    signing_modules = [m for m in MODULES if m.split(".")[0] == "signing"]
    offending = {m: sorted(i for i in imports(m) if i.split(".")[0] == "connector") for m in signing_modules}
    assert {m: i for m, i in offending.items() if i} == {}
