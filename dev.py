#!/usr/bin/env python3
"""Development entry point that needs nothing but Python 3.11+.

    python3 dev.py start    install into .venv, create the SQLite database with demo data,
                            serve the app on http://127.0.0.1:5000/
    python3 dev.py test     install into .venv (with the test tools) and run the whole suite

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


def start() -> None:
    install()
    env = dict(os.environ)
    tracker = BIN / "tracker"
    run(tracker, "db", "upgrade", env=env)
    run(tracker, "demo", "--if-empty", env=env)
    run(tracker, "serve", env=env)


def test(args: list[str]) -> None:
    install("test")
    run(PYTHON, "-m", "pytest", *args)


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "start":
        start()
    elif command == "test":
        test(rest)
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
