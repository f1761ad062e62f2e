"""The page read models in tracker/services/queries only read: a walk over their code finds no
call that adds, flushes or changes rows, and none that writes an audit event."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tracker.services.queries as queries

QUERY_MODULES = sorted(Path(queries.__file__).parent.glob("*.py"))
SESSION_WRITES = {"add", "add_all", "flush", "delete", "merge", "commit", "rollback",
                  "begin_nested", "bulk_save_objects", "bulk_insert_mappings",
                  "bulk_update_mappings"}
STATEMENT_WRITES = {"update", "insert", "delete"}
AUDIT_WRITES = {"record_event"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def writes_in(source: str) -> list[str]:
    """Every call in the source that writes, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and any(a.name in AUDIT_WRITES for a in node.names):
            found.append(f"{node.lineno}: imports record_event")
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if called in AUDIT_WRITES:
            found.append(f"{node.lineno}: {called}()")
        elif isinstance(node.func, ast.Attribute) and called in SESSION_WRITES:
            found.append(f"{node.lineno}: .{called}()")
        elif called == "execute" and node.args and isinstance(node.args[0], ast.Call):
            # execute(update(...).where(...)): the statement is the innermost call of the chain.
            statement: ast.expr = node.args[0]
            while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute):
                statement = statement.func.value
            if isinstance(statement, ast.Call) and _name(statement.func) in STATEMENT_WRITES:
                found.append(f"{node.lineno}: execute({_name(statement.func)}(...))")
    return found


def test_there_are_query_modules_to_check() -> None:
    names = {path.stem for path in QUERY_MODULES}
    assert {"worklist", "patient_history", "dispense_history", "audit_events"} <= names


@pytest.mark.parametrize("path", QUERY_MODULES, ids=lambda path: path.stem)
def test_a_query_module_never_writes(path: Path) -> None:
    assert writes_in(path.read_text()) == []


@pytest.mark.parametrize("source", [
    "def f(ctx):\n    ctx.session.add(row)\n",
    "def f(ctx):\n    ctx.session.flush()\n",
    "def f(ctx):\n    ctx.session.execute(update(Patient).where(Patient.id == 1).values(x=1))\n",
    "def f(session):\n    session.execute(insert(Patient).values(x=1))\n",
    "def f(ctx):\n    ctx.session.execute(delete(Patient))\n",
    "from tracker.services.audit import record_event\n",
    "def f(ctx):\n    audit.record_event(ctx, 'x', 'y', 1)\n",
])
def test_the_walk_finds_each_kind_of_write(source: str) -> None:
    assert writes_in(source)


def test_the_walk_lets_reads_through() -> None:
    source = ("def f(ctx):\n    ctx.session.execute(select(Patient).where(Patient.id == 1))\n"
              "    ctx.session.scalars(select(Patient))\n    ctx.session.get(Patient, 1)\n")
    assert writes_in(source) == []
