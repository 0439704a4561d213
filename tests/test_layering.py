"""Dependencies point one way: edges (classroom/, web/) → actors/ → libraries (collab/, execution/, analytics/).

Checked on the source (every import statement, including ones inside functions), so a violation fails here
instead of surfacing as an import cycle or a Ray worker that drags in the web stack.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LIBRARIES = ("collab", "execution", "analytics")
FORBIDDEN = {
    "collab": ("ray", "starlette", "uvicorn", "classroom", "actors", "execution", "analytics"),
    "execution": ("ray", "starlette", "uvicorn", "classroom", "actors", "collab", "analytics"),
    "analytics": ("ray", "starlette", "uvicorn", "classroom", "actors", "collab", "execution"),
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", LIBRARIES)
def test_libraries_import_no_edge_and_no_ray(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & set(FORBIDDEN[package]))
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Modules of actors/ still importing the edge, each until it is inverted like the session and analytics stores
# (a Protocol in actors/, the implementation in classroom/, injected by the edge). Never add to this list.
ACTORS_ALLOWED_EDGE_IMPORTS: dict[str, set[str]] = {}


def test_actors_import_no_edge() -> None:
    """actors/ imports neither the edge (classroom) nor the web stack (starlette): the edge hands it what it needs."""
    found = {
        path.relative_to(ROOT).as_posix(): imported_roots(path) & {"classroom", "starlette"}
        for path in (ROOT / "actors").rglob("*.py")
    }
    offenders = {k: sorted(v - ACTORS_ALLOWED_EDGE_IMPORTS.get(k, set())) for k, v in found.items()}
    assert {k: v for k, v in offenders.items() if v} == {}
    stale = {k for k in ACTORS_ALLOWED_EDGE_IMPORTS if not found.get(k)}
    assert stale == set(), "inverted: remove these from ACTORS_ALLOWED_EDGE_IMPORTS"


# --- Import cycles and the order of the edge's feature packages -------------------------------------------------

FIRST_PARTY = ("classroom", "actors", "collab", "execution", "analytics")

# classroom/'s feature packages, lowest first: a module of one may import the core (the modules at the top of
# classroom/), and the packages before its own, never one after it. docs/architecture.md shows the same list.
FEATURE_ORDER = (
    "stores",
    "presence",
    "events",
    "auth",
    "courses",
    "classes",
    "accounts",
    "rooms",
    "demos",
    "sessions",
    "runs",
    "grading",
    "dashboard",
    "console",
    "sandboxes",
    "judge0",  # the Judge0 CE API over runs/
    "piston",  # the Piston v2 API over runs/ (a sibling of judge0/: neither imports the other)
)
# The core imports no feature package, except the two modules that assemble the features: the app and the CLI.
ASSEMBLERS = {"classroom.app", "classroom.cli", "classroom.__main__"}


def module_files() -> dict[str, Path]:
    found = {}
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imported_modules(name: str, path: Path, modules: set[str]) -> set[str]:
    """The first-party modules ``name`` imports: every import statement, also inside functions and under
    TYPE_CHECKING (mypy follows those too). ``from pkg import sub`` names the module ``pkg.sub``; a module's own
    enclosing packages do not count (Python runs them first whatever the module says)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            subs = {f"{module}.{alias.name}" for alias in node.names} & modules
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(module)
    return {m for m in found & modules if m != name and not name.startswith(m + ".")}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def feature_of(module: str) -> str | None:
    """The feature package of a classroom module, or None for the core."""
    parts = module.split(".")
    if parts[0] == "classroom" and len(parts) > 1 and (ROOT / "classroom" / parts[1] / "__init__.py").is_file():
        return parts[1]
    return None


def order_violations(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(FEATURE_ORDER)}
    found = []
    for module, imports in sorted(graph.items()):
        if not module.startswith("classroom"):
            continue
        own = feature_of(module)
        for target in sorted(imports):
            other = feature_of(target) if target.startswith("classroom.") else None
            if other is None or other == own:
                continue
            if own is None and module not in ASSEMBLERS:
                found.append(f"{module} (core) imports the feature package {target}")
            elif own is not None and rank[other] > rank[own]:
                found.append(f"{module} ({own}) imports {target} ({other}), which comes after it in FEATURE_ORDER")
    return found


def test_no_import_cycles() -> None:
    assert find_cycles(import_graph()) == []


def test_feature_packages_import_in_the_documented_order() -> None:
    assert order_violations(import_graph()) == []


def test_every_feature_package_has_a_place_in_the_order_and_says_what_it_owns() -> None:
    packages = {p.parent.name for p in (ROOT / "classroom").glob("*/__init__.py")} - {"migrations"}
    assert packages == set(FEATURE_ORDER)
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    assert " → ".join(FEATURE_ORDER) in architecture
    for name in FEATURE_ORDER:
        docstring = ast.get_docstring(ast.parse((ROOT / "classroom" / name / "__init__.py").read_text()))
        assert docstring, f"classroom/{name}/__init__.py says nothing of what it owns"


def test_the_checks_catch_what_they_are_for() -> None:
    """The checkers themselves, on made-up graphs: a cycle, an upward import, a core module importing a feature."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    upward = {"classroom.auth.service": {"classroom.runs.service"}, "classroom.runs.service": set()}
    assert order_violations(upward) == [
        "classroom.auth.service (auth) imports classroom.runs.service (runs), which comes after it in FEATURE_ORDER"
    ]
    core = {"classroom.tables": {"classroom.classes.service"}, "classroom.classes.service": set()}
    assert order_violations(core) == ["classroom.tables (core) imports the feature package classroom.classes.service"]
    assert order_violations({"classroom.app": {"classroom.runs.routes"}, "classroom.runs.routes": set()}) == []
