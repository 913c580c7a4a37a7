"""The layout's import rules (docs/architecture.md), checked on the source: product code never
imports tooling, the domain imports no framework, each floor imports only the floors below it,
only the serving layer assembles a ``Runtime``, packages are used through their surface, and no
module imports itself round a circle."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("connector", "signing")
TOOLING = {"simulators", "testkit", "tests", "bench", "server"}
FRAMEWORKS = {"spyne", "zeep", "waitress", "sqlalchemy", "psycopg", "requests", "jinja2", "prometheus_client"}
# The middle of the architecture: the edXML model, the exchange's rules and the operations.
DOMAIN = [
    "connector.edxml",
    "connector.exchange",
    "connector.errors",
    "connector.clock",
    "connector.auth.caller",
]
# What the domain uses without looking inside: the store (its one interface to storage, whose
# insides use SQLAlchemy) and the signing package (a product of its own, with its own rules).
PORTS = ("connector.store", "signing")
# Floors, lowest first: a module imports only from its own floor and the floors below.
FLOORS = [
    ["connector.errors", "connector.clock", "connector.config", "connector.edxml", "connector.exchange",
     "connector.auth", "connector.store"],
    ["connector.soap", "connector.delivery", "connector.evidence", "connector.ops", "connector.admin"],
    ["connector.serving"],
    ["connector.cli", "connector.wsgi", "connector.__main__"],
]  # fmt: skip
PACKAGES_WITH_A_SURFACE = ["connector.store", "connector.edxml", "signing"]
TOP_LEVEL_MODULE_LIMIT = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in PRODUCT for p in (ROOT / top).rglob("*.py")}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@cache
def imports(module: str) -> frozenset[str]:
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
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
            for _ in range(node.level - 1):
                package = package.rsplit(".", 1)[0]
            base = f"{package}.{node.module}" if node.module else package
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
    return frozenset(found)


def reachable(module: str, stop_at: tuple[str, ...] = ()) -> set[str]:
    """Every product module ``module`` imports, directly or through others (not following
    imports into the packages ``stop_at``), and every outside top-level package any of them
    imports."""
    seen, todo, outside = {module}, [module], set()
    while todo:
        for name in imports(todo.pop()):
            if name in MODULES and name not in seen:
                seen.add(name)
                if not any(within(name, p) for p in stop_at):
                    todo.append(name)
            elif name not in MODULES:
                outside.add(name.split(".")[0])
    return seen | outside


def floor_of(module: str) -> int | None:
    for level, packages in enumerate(FLOORS):
        if any(within(module, p) for p in packages):
            return level
    return None


def test_every_module_the_rules_name_exists():
    """A rule about a module that is gone checks nothing: renaming one must update the rules."""
    named = DOMAIN + list(PORTS) + [p for floor in FLOORS for p in floor] + PACKAGES_WITH_A_SURFACE
    assert [m for m in named if m not in MODULES] == []


def test_every_connector_module_is_on_a_floor():
    unplaced = [m for m in MODULES if m.startswith("connector") and m != "connector" and floor_of(m) is None]
    assert unplaced == []


def test_the_top_level_stays_small():
    top = [p.name for p in (ROOT / "connector").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= TOP_LEVEL_MODULE_LIMIT, sorted(top)


def test_no_import_runs_up_a_floor():
    upward = {
        m: sorted(i for i in imports(m) if i in MODULES and (floor_of(i) or 0) > (floor_of(m) or 0))
        for m in MODULES
        if floor_of(m) is not None
    }
    assert {m: i for m, i in upward.items() if i} == {}


def test_only_the_serving_layer_assembles_a_runtime():
    builders = {}
    for module, path in MODULES.items():
        calls = [
            n.lineno
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Runtime"
        ]
        if calls:
            builders[module] = calls
    assert set(builders) == {"connector.serving.runtime"}


def test_product_code_never_imports_tooling():
    """Not directly, and not through another product module."""
    offending = {m: sorted(i for i in reachable(m) if i.split(".")[0] in TOOLING) for m in MODULES}
    assert {m: i for m, i in offending.items() if i} == {}


@pytest.mark.parametrize("domain", DOMAIN)
def test_the_domain_imports_no_framework(domain):
    """Not directly, and not through another module, except inside the ports it uses."""
    modules = [m for m in MODULES if within(m, domain)]
    used = {i.split(".")[0] for m in modules for i in reachable(m, stop_at=PORTS)}
    assert used & FRAMEWORKS == set()


@pytest.mark.parametrize("package", PACKAGES_WITH_A_SURFACE)
def test_packages_are_used_through_their_surface(package):
    outside = [m for m in MODULES if not within(m, package)]
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
