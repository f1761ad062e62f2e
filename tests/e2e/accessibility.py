"""WCAG 2.2 AA checks of the pages a journey passes through: axe-core (the npm package, pinned
in tests/e2e/axe/package.json) is injected into the page by Playwright and run on the page as
it stands; a violation of serious or critical impact fails the journey.

axe-core is installed with npm the first time it is needed (`npm ci` in tests/e2e/axe, as
.ci/run also does), so a fresh clone with npm on the machine runs the checks; nothing is
loaded from a CDN."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


@lru_cache(maxsize=1)
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("the accessibility checks need axe-core: install npm, or run "
                               "`npm ci` in tests/e2e/axe")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=AXE_DIR,
                       check=True)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.2 A/AA violations axe-core finds on the page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Run as a function body by the browser's debugging protocol: the pages' Content
        # Security Policy (no inline scripts) stays on, as the patient has it.
        page.evaluate("() => {" + axe_source() + "\n}")
    found = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
                    .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
                        help: v.help, targets: v.nodes.map(n => n.target.join(' '))})))""",
        TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


def assert_accessible(page: Page) -> None:
    problems = violations(page)
    assert problems == [], f"axe-core on {page.url}: {problems}"


def focus_is_visible(page: Page) -> bool:
    """After Tab, the focused element shows an outline (WCAG 2.4.7)."""
    page.keyboard.press("Tab")
    return bool(page.evaluate(
        """() => { const el = document.activeElement;
                   if (!el || el === document.body) return false;
                   const s = getComputedStyle(el);
                   return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""))
