#!/usr/bin/env python3
"""Development entry point that needs nothing but Python 3.11+.

    python3 dev.py start [--port N] [--host H]
                            install into .venv, create the SQLite database with demo data,
                            serve the app on http://127.0.0.1:5000/ (or the port given)
    python3 dev.py test     install into .venv (with the test tools) and run the whole suite,
                            one process per core

Extra arguments after `test` go to pytest (e.g. `python3 dev.py test tests/domain -x`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def install(extras: str = "") -> None:
    """Create .venv and install the project (again only when setup.cfg changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("tracker needs Python 3.11 or newer")
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = f"{extras}:{(ROOT / 'setup.cfg').stat().st_mtime_ns}"
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Installing tracker and its dependencies into .venv ...", flush=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade",
        "pip")
    target = f".[{extras}]" if extras else "."
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    STAMP.write_text(wanted)


def serve_options(args: list[str]) -> list[str]:
    """The options of `start` that go to `tracker serve` (--port N, --host H, or --port=N)."""
    options: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, has_value, value = arg.partition("=")
        if name not in ("--port", "--host"):
            sys.exit(f"dev.py start: unknown option {arg} (use --port N or --host H)")
        if not has_value:
            if not rest:
                sys.exit(f"dev.py start: {name} needs a value")
            value = rest.pop(0)
        if name == "--port" and not value.isdigit():
            sys.exit(f"dev.py start: --port needs a number, not {value}")
        options += [name, value]
    return options


def start(args: list[str]) -> None:
    options = serve_options(args)
    install()
    env = dict(os.environ)
    tracker = BIN / "tracker"
    run(tracker, "db", "upgrade", env=env)
    run(tracker, "demo", "--if-empty", env=env)
    run(tracker, "serve", *options, env=env)


def pytest_arguments(args: list[str]) -> list[str]:
    """The suite runs in one process per core (pytest-xdist: each has its own database), unless
    the arguments choose otherwise (`-n 0`, `-n 4`, `-p no:xdist`)."""
    chosen = any(a.startswith(("-n", "--numprocesses")) or a == "no:xdist" for a in args)
    return list(args) if chosen else ["-n", "auto", *args]


def test(args: list[str]) -> None:
    install("test")
    run(PYTHON, "-m", "pytest", *pytest_arguments(args))


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "start":
        start(rest)
    elif command == "test":
        test(rest)
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
