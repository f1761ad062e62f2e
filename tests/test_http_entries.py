"""DESIGN.md layout: the browser pages (tracker.web) and the JSON API (tracker.api) share the
HTTP plumbing of tracker.http and never each other; tracker.http imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tracker

PACKAGE = Path(tracker.__file__).resolve().parent
FORBIDDEN = {
    "tracker.api": {"tracker.web"},
    "tracker.web": {"tracker.api"},
    "tracker.http": {"tracker.web", "tracker.api"},
}


def imported_modules(source: str, package: str) -> set[str]:
    """Every tracker module a module's source imports, at any depth (function-level imports
    too); `from tracker import api` counts as importing tracker.api."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else node.module or ""
            if node.level and node.module:
                base = f"{package}.{node.module}"
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def reaches(names: set[str], forbidden: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))


def modules_of(package: str) -> list[tuple[str, Path]]:
    folder = PACKAGE / package.removeprefix("tracker.")
    return [(package, path) for path in sorted(folder.glob("*.py"))]


CASES = [case for package in FORBIDDEN for case in modules_of(package)]


def test_each_layer_has_modules_to_walk() -> None:
    assert {package for package, _ in CASES} == set(FORBIDDEN)
    assert {path.name for package, path in CASES if package == "tracker.http"} >= {
        "requests.py", "errors.py", "access.py", "sessions.py", "headers.py"}


@pytest.mark.parametrize(("package", "path"), CASES,
                         ids=[f"{p}.{path.stem}" for p, path in CASES])
def test_module_imports_no_layer_beside_it(package: str, path: Path) -> None:
    names = imported_modules(path.read_text(encoding="utf-8"), package)
    assert reaches(names, FORBIDDEN[package]) == []


@pytest.mark.parametrize("source", [
    "from tracker import api", "import tracker.web.auth", "from tracker.api.shapes import x",
    "def f():\n    from tracker.web import csrf",
])
def test_walker_sees_every_form_of_import(source: str) -> None:
    assert reaches(imported_modules(source, "tracker.http"), FORBIDDEN["tracker.http"]) != []


def test_walker_lets_shared_plumbing_through() -> None:
    source = "from tracker.http.requests import context\nfrom . import errors\nimport tracker"
    assert reaches(imported_modules(source, "tracker.api"), FORBIDDEN["tracker.api"]) == []
