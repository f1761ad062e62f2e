"""`python3 dev.py start --port N` reaches `tracker serve`, and the README's links work in a
clone of this repository alone."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_start_passes_port_and_host_to_serve() -> None:
    dev = _dev()
    assert dev.serve_options([]) == []
    assert dev.serve_options(["--port", "8081"]) == ["--port", "8081"]
    assert dev.serve_options(["--port=9000", "--host", "127.0.0.2"]) == [
        "--port", "9000", "--host", "127.0.0.2"]


@pytest.mark.parametrize("args", [["--port"], ["--port", "eighty"], ["--debug"]])
def test_start_refuses_what_it_cannot_honour(args: list[str]) -> None:
    with pytest.raises(SystemExit):
        _dev().serve_options(args)


def test_the_suite_runs_one_process_per_core_unless_told_otherwise() -> None:
    dev = _dev()
    assert dev.pytest_arguments([]) == ["-n", "auto"]
    assert dev.pytest_arguments(["tests/domain", "-x"]) == ["-n", "auto", "tests/domain", "-x"]
    for chosen in (["-n", "0"], ["-n4"], ["--numprocesses=3"], ["-p", "no:xdist"]):
        assert dev.pytest_arguments(chosen) == chosen


def test_readme_links_point_inside_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, "the README links to its own files"
    for target in local:
        assert (ROOT / target).resolve().is_relative_to(ROOT), target
        assert (ROOT / target).exists(), target
