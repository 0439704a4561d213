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
