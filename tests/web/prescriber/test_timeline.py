"""The timeline on the patient's page: which tests open a fill window, the contraception lane,
a legend entry for every kind of mark, and marks a keyboard reaches and a screen reader names."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests import builders
from tests.builders import SIGNED
from tests.web.prescriber.conftest import page
from tracker.services import authorizations
from tracker.services.context import Context


def _svg(html: str) -> str:
    found = re.search(r'<svg [^>]*class="timeline".*?</svg>', html, re.S)
    assert found is not None
    return found.group(0)


def test_a_first_fills_screening_test_opens_no_window(browser: FlaskClient,
                                                       doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)  # screening Nov 5, confirmation Dec 14
    svg = _svg(page(browser, f"/patients/{p.id}"))
    assert "<title>Negative pregnancy test (office), collected Nov 5, 2026</title>" in svg
    assert "<title>Test window: Dec 14, 2026 to Dec 20, 2026</title>" in svg
    assert "Test window: Nov 5, 2026" not in svg
    assert svg.count('class="tl-window tl-window-test"') == 1


def test_contraception_has_its_lane_with_the_start_date(browser: FlaskClient,
                                                        doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    svg = _svg(page(browser, f"/patients/{p.id}"))
    assert ">Contraception</text>" in svg
    assert ("<title>Contraception started Nov 5, 2026: Intrauterine device (IUD), Male condom "
            "(entered Dec 14, 2026)</title>") in svg


def test_every_mark_is_focusable_and_named_with_its_kind_and_date(browser: FlaskClient,
                                                                  doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    svg = _svg(page(browser, f"/patients/{p.id}"))
    marks = re.findall(r"<(?:circle|rect|polygon|line) [^>]*>", svg)
    titled = [m for m in marks if "aria-label" in m]
    assert len(titled) >= 6  # two tests, a window, contraception, counseling, today, ...
    for mark in titled:
        assert 'tabindex="0"' in mark
        assert re.search(r'aria-label="[^"]*[A-Z][a-z]{2} \d{1,2}, \d{4}', mark), mark
    assert ('aria-label="Negative pregnancy test (laboratory), collected Dec 14, 2026"'
            in svg)
    # Lane and month lines are not marks: nothing to reach there.
    assert all("aria-label" in m for m in marks if "tabindex" in m)
    assert 'role="group"' in svg  # marks inside an image would be hidden from screen readers


def test_the_legend_names_every_kind_of_mark_drawn(browser: FlaskClient, ctx: Context,
                                                   doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    authorizations.reverse(doc, auth.number, "Entered for the wrong patient")
    html = page(browser, f"/patients/{p.id}")
    svg = _svg(html)
    legend = html[html.index('<figcaption class="legend">'):html.index("</figcaption>")]
    drawn: set[str] = set()
    for mark in re.findall(r"<(?:circle|rect|polygon|line) [^>]*tabindex[^>]*>", svg):
        classes = re.search(r'class="([^"]*)"', mark)
        assert classes is not None
        drawn.update(classes.group(1).split())
    assert {"tl-test-negative", "tl-window-test", "tl-contraception", "tl-counseling",
            "tl-signature", "tl-auth-closed", "tl-today"} <= drawn
    keys = set(re.findall(r'class="key key-([^"]+)"', legend))
    # Each mark carries at least one class that has a legend entry.
    for mark in re.findall(r"<(?:circle|rect|polygon|line) [^>]*tabindex[^>]*>", svg):
        classes = re.search(r'class="([^"]*)"', mark)
        assert classes is not None and keys & set(classes.group(1).split()), mark
    assert "reversed or lapsed authorization" in legend
