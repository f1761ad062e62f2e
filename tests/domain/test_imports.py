"""DESIGN.md "The domain decides": tracker.domain imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import tracker.domain

DOMAIN = Path(tracker.domain.__file__).resolve().parent
MODULES = sorted(DOMAIN.glob("*.py"))


def imported_names(source: str) -> list[str]:
    """Every absolute module name a module imports (relative imports stay inside the package)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("tracker.domain" if node.level else node.module or "")
    return names


def allowed(name: str) -> bool:
    return (
        name.split(".")[0] in sys.stdlib_module_names
        or name == "tracker.domain"
        or name.startswith("tracker.domain.")
    )


def test_every_domain_module_is_walked() -> None:
    assert {path.stem for path in MODULES} >= {
        "facts", "policy", "rules", "reasons", "decision", "programdate", "comprehension",
        "contraception", "validation",
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_domain_module_imports_only_stdlib_and_domain(path: Path) -> None:
    names = imported_names(path.read_text(encoding="utf-8"))
    assert [name for name in names if not allowed(name)] == []


@pytest.mark.parametrize(
    "source",
    ["import flask", "from sqlalchemy import select", "import wtforms.fields",
     "from tracker.models import Patient", "from tracker import services"],
)
def test_import_walker_refuses_frameworks_and_other_tracker_packages(source: str) -> None:
    assert not all(allowed(name) for name in imported_names(source))


def test_import_walker_accepts_relative_and_stdlib_imports() -> None:
    assert all(allowed(n) for n in imported_names("from . import rules\nimport datetime"))


CLOCK_CALLS = {"today", "now", "utcnow", "time", "monotonic", "perf_counter", "localtime"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_domain_module_never_reads_the_clock(path: Path) -> None:
    """Time is an argument (DESIGN.md): no date.today(), datetime.now(), time.time()..."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ]
    assert calls == []
