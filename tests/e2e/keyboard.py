"""Working a page with the keyboard alone: Tab to a control named like its label, type, press
Space or Enter, and ask the DOM whether every control has a label."""

from __future__ import annotations

from datetime import date
from typing import Any

from playwright.sync_api import Page

# The focused element: its tag, type, accessible name (aria-label, else its labels, else its
# text or value) and whether a focus ring is drawn around it.
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const clean = (text) => (text || '').replace(/\\s+/g, ' ').trim();
  let name = clean(el.getAttribute('aria-label'));
  if (!name && el.labels && el.labels.length) {
    name = clean(Array.from(el.labels).map((label) => label.textContent).join(' '));
  }
  if (!name) name = clean(el.textContent) || clean(el.value);
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== 'none';
  return {tag: el.tagName.toLowerCase(), type: el.type || '', name: name, ring: ring,
          checked: el.checked === true};
}"""

# Every form control a person fills in, and which of them has no accessible name: no <label>
# with text (by `for` or by nesting), no aria-label, no aria-labelledby pointing at text.
_UNLABELLED = """() => {
  const named = (el) => {
    const labels = Array.from(el.labels || []).some((l) => l.textContent.trim() !== '');
    const aria = (el.getAttribute('aria-label') || '').trim() !== '';
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .some((id) => { const t = document.getElementById(id); return t && t.textContent.trim(); });
    return labels || aria || by;
  };
  const skip = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
  const controls = Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => !skip.has(el.type));
  const buttons = Array.from(document.querySelectorAll('button, input[type=submit]'))
    .filter((el) => !(el.textContent || el.value || el.getAttribute('aria-label') || '').trim());
  const described = Array.from(document.querySelectorAll('[aria-describedby]'))
    .filter((el) => el.getAttribute('aria-describedby').split(/\\s+/)
      .some((id) => !document.getElementById(id)));
  return {
    count: controls.length,
    unlabelled: controls.filter((el) => !named(el)).map((el) => el.outerHTML),
    nameless_buttons: buttons.map((el) => el.outerHTML),
    dangling_descriptions: described.map((el) => el.outerHTML),
  };
}"""


def focused(page: Page) -> dict[str, Any] | None:
    """What has the keyboard focus now."""
    result: dict[str, Any] | None = page.evaluate(_FOCUSED)
    return result


def tab_to(page: Page, name: str, tag: str | None = None, limit: int = 80) -> None:
    """Press Tab until the control named `name` (and of `tag`, if given) has the focus, and
    check that the focus is visible there. Fails if Tab never reaches it."""
    for _ in range(limit):
        now = focused(page)
        if now is not None and now["name"] == name and (tag is None or now["tag"] == tag):
            assert now["ring"], f"no visible focus on {name!r}"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


def choose(page: Page, first_option: str, option: str, limit: int = 12) -> None:
    """A radio group: Tab into it (the focus lands on its first option when none is chosen),
    move with the arrow keys to `option`, and choose it with Space."""
    tab_to(page, first_option, "input")
    for _ in range(limit):
        now = focused(page)
        if now is not None and now["name"] == option:
            page.keyboard.press("Space")
            assert focused(page) == {**now, "checked": True}, option
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the arrow keys never reached {option!r}")


def tick(page: Page, name: str) -> None:
    """A checkbox: Tab to it and tick it with Space."""
    tab_to(page, name, "input")
    page.keyboard.press("Space")
    now = focused(page)
    assert now is not None and now["checked"], f"{name!r} is not ticked"


def fill(page: Page, name: str, text: str) -> None:
    """A text field: Tab to it, clear it and type."""
    tab_to(page, name)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def fill_date(page: Page, name: str, day: date) -> None:
    """A date field as the browser draws it for en-US: month, day and year, typed in turn
    (each part moves on to the next when it is complete)."""
    tab_to(page, name, "input")
    page.keyboard.type(f"{day:%m%d%Y}")


def press(page: Page, name: str, tag: str | None = None) -> None:
    """Tab to a button or a link (of `tag`, if given) and press Enter."""
    tab_to(page, name, tag)
    page.keyboard.press("Enter")


def label_problems(page: Page) -> dict[str, Any]:
    """The page's form controls without a label, buttons without a name, and descriptions that
    point at nothing; with the number of controls looked at."""
    result: dict[str, Any] = page.evaluate(_UNLABELLED)
    return result


def assert_every_control_labelled(page: Page) -> None:
    """Every input, select and textarea of the page has an accessible name."""
    found = label_problems(page)
    assert found["count"] > 0, f"no form controls on {page.url}"
    assert found["unlabelled"] == [], found["unlabelled"]
    assert found["nameless_buttons"] == [], found["nameless_buttons"]
    assert found["dangling_descriptions"] == [], found["dangling_descriptions"]
