"""Every message a person can read names things in words: no category, test setting or reason
code and no field's code name ever reaches a page. The walk reads the sentences the rules
engine, the services and the forms can answer with, straight from their source."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tracker.domain import facts
from tracker.domain.reasons import ReasonCode

_TRACKER = Path(__file__).resolve().parents[2] / "tracker"
_MESSAGE_SOURCES = (
    sorted((_TRACKER / "services").rglob("*.py"))
    + sorted((_TRACKER / "domain").glob("*.py"))
    + sorted((_TRACKER / "web").glob("*.py"))
)
# A code name: snake_case (a field, a category) or SCREAMING_SNAKE (a reason code).
_CODE_NAME = re.compile(r"\b(?:[a-z]+_[a-z0-9_]+|[A-Z]+_[A-Z0-9_]+)\b")
# A one-word code written as a code: quoted, or offered in a list of codes.
_QUOTED = re.compile(r"""['"`](lab|office|home)['"`]|\b(lab|office|home), (lab|office|home)\b""")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _sentences(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a module that read as sentences (a capital first, a space
    inside), f-strings with their holes as "{}"; docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}"
                           for part in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in skip:
                continue
            text = node.value
        else:
            continue
        if text[:1].isupper() and " " in text:
            yield node.lineno, text


def _is_machine_text(text: str) -> bool:
    """SQL, and the import file's own JSON syntax (its keys are what the file must spell)."""
    return text.startswith(("SELECT ", "COPY ")) or '{"' in text


def test_no_message_names_a_code() -> None:
    offending = [
        f"{path.relative_to(_TRACKER.parent)}:{line}: {text}"
        for path in _MESSAGE_SOURCES
        for line, text in _sentences(path)
        if not _is_machine_text(text) and (_CODE_NAME.search(text) or _QUOTED.search(text))
    ]
    assert offending == []


def test_the_walk_sees_the_messages_it_checks() -> None:
    """The walk would find a code if one were there: the sentences it reads include the
    service's own wording and the codes it looks for are the program's."""
    everything = [text for path in _MESSAGE_SOURCES for _, text in _sentences(path)]
    assert "Choose whether the patient can or cannot get pregnant." in everything
    assert _CODE_NAME.search(f"Choose {facts.Category.CAN_GET_PREGNANT.value}.")
    assert _CODE_NAME.search(f"Refused: {ReasonCode.WINDOW_EXPIRED.value}.")
    assert _QUOTED.search(f"Give '{facts.TestSetting.HOME.value}'.")
    assert _CODE_NAME.search("Enter the date_of_birth.")

