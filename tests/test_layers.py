"""The arrows between tracker's packages point one way (DESIGN.md "Layout").

domain (pure rules) <- config, db, logs, keyring <- models <- services <- http <- web | api |
fhir <- the app factory and the command line. A module imports only from its own layer or below; the
browser blueprints, the JSON API and FHIR share the HTTP plumbing but never import each other;
and no chain of module-level imports comes back to where it started (an import cycle).
Imports inside functions are how a module reaches up on purpose (the CLI builds the app), so
only module-level imports count; `if TYPE_CHECKING:` blocks never run and do not count either.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

import pytest

import tracker

ROOT = Path(tracker.__file__).resolve().parent

LAYERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("tracker.domain",)),
    (1, ("tracker.config", "tracker.db", "tracker.logs", "tracker.keyring")),
    (2, ("tracker.models",)),
    (3, ("tracker.services",)),
    (4, ("tracker.http",)),
    (5, ("tracker.web", "tracker.api", "tracker.fhir")),
    (6, ("tracker", "tracker.cli", "tracker.demo", "tracker.bulkdemo", "tracker.backup",
         "tracker.migrate")),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def owner(module: str) -> tuple[int, str]:
    """(layer, the package that owns the module): the longest matching prefix."""
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[1])
            ):
                best = (layer, prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS"
    return best


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            found += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _module_level(node.body)
            for handler in node.handlers:
                found += _module_level(handler.body)
    return found


def parse(source: str) -> ast.Module:
    """ast.parse with the garbage collector held off: on CPython 3.11 a finalizer run by the
    collector in the middle of building the tree (a connection left by an earlier test of the
    same process, say) can make it fail with "SystemError: AST constructor recursion depth
    mismatch"; the tree itself does not depend on it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        if enabled:
            gc.enable()


def imports_of(module: str, source: str, known: set[str]) -> set[str]:
    """The tracker modules `module` imports at module level."""
    package = module if MODULES.get(module, Path()).name == "__init__.py" else (
        module.rpartition(".")[0])
    targets: set[str] = set()
    for node in _module_level(parse(source).body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        targets |= {name for name in names if name == "tracker" or name.startswith("tracker.")}
    return {target for target in targets if target in known}


def graph() -> dict[str, set[str]]:
    known = set(MODULES)
    return {name: imports_of(name, path.read_text(encoding="utf-8"), known)
            for name, path in MODULES.items()}


def wrong_arrows(edges: dict[str, set[str]]) -> list[str]:
    wrong: list[str] = []
    for source, targets in edges.items():
        source_layer, source_package = owner(source)
        for target in sorted(targets):
            target_layer, target_package = owner(target)
            if target_layer > source_layer:
                wrong.append(f"{source} -> {target} points up")
            elif target_layer == source_layer == 5 and target_package != source_package:
                wrong.append(f"{source} -> {target} joins two HTTP entries")
    return wrong


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that ends where it starts, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_every_module_belongs_to_a_layer() -> None:
    for name in MODULES:
        owner(name)


def test_no_import_points_up_or_joins_two_http_entries() -> None:
    assert wrong_arrows(graph()) == []


def test_there_is_no_import_cycle() -> None:
    assert find_cycle(graph()) == []


def test_the_walk_sees_the_domain_rules_and_the_services() -> None:
    edges = graph()
    assert "tracker.domain.rules" in edges["tracker.services.prescriptions"] | set().union(
        *(targets for name, targets in edges.items() if name.startswith("tracker.services.")))
    assert "tracker.domain.course" in edges["tracker.domain.rules"]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"tracker.domain.rules": {"tracker.models.people"}},
         ["tracker.domain.rules -> tracker.models.people points up"]),
        ({"tracker.models.people": {"tracker.services.audit"}},
         ["tracker.models.people -> tracker.services.audit points up"]),
        ({"tracker.services.audit": {"tracker.web.errors"}},
         ["tracker.services.audit -> tracker.web.errors points up"]),
        ({"tracker.api.routes": {"tracker.web.forms"}},
         ["tracker.api.routes -> tracker.web.forms joins two HTTP entries"]),
        ({"tracker.web.forms": {"tracker.services.audit", "tracker.domain.rules"}}, []),
    ],
    ids=["domain-to-models", "models-to-services", "services-to-web", "api-to-web", "downward"],
)
def test_the_arrow_check_refuses_what_points_up(edges: dict[str, set[str]],
                                                 expected: list[str]) -> None:
    assert wrong_arrows(edges) == expected


def test_the_cycle_check_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_only_module_level_imports_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import tracker.db\n"
        "if TYPE_CHECKING:\n    import tracker.web\n"
        "def build():\n    import tracker.cli\n"
    )
    known = {"tracker.db", "tracker.web", "tracker.cli"}
    assert imports_of("tracker.services.x", source, known) == {"tracker.db"}
