"""The server-drawn SVG charts: named and described for assistive technology, text escaped,
bars in proportion to the numbers, nothing a Content-Security-Policy would refuse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tracker.web.charts import Series, bar_chart, column_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, not outside input


def test_a_column_chart_has_a_title_a_description_and_one_bar_per_value() -> None:
    svg = _parse(column_chart("Month by month", "Dispenses <per> month", ["2026-11", "2026-12"],
                              [Series("Dispenses", [3, 6]), Series("Issued", [4, 0])]))
    assert svg.get("role") == "img"
    title, desc = svg.find(SVG + "title"), svg.find(SVG + "desc")
    assert title is not None and title.text == "Month by month"
    assert desc is not None and desc.text == "Dispenses <per> month"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = svg.findall(SVG + "rect[" + SVG + "title]")
    heights = [float(r.get("height", "0")) for r in bars]
    assert len(bars) == 4
    assert heights[2] == 2 * heights[0] and heights[3] == 0  # 6 is twice 3
    assert [r.find(SVG + "title").text for r in bars] == [  # type: ignore[union-attr]
        "2026-11, Dispenses: 3", "2026-11, Issued: 4", "2026-12, Dispenses: 6",
        "2026-12, Issued: 0"]


def test_labels_are_escaped_and_no_style_or_script_is_drawn() -> None:
    markup = str(bar_chart("Reasons", "Refusals", ["<script>alert(1)</script>", "B"], [2, 1]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert not re.search(r"<style|style=|<script|on\w+=", markup)
    svg = _parse(markup)
    widths = [float(r.get("width", "0")) for r in svg.findall(SVG + "rect")]
    assert widths[0] == 2 * widths[1]


def test_an_empty_chart_says_so() -> None:
    svg = _parse(bar_chart("Reasons", "Refusals", [], []))
    assert any(t.text == "None in the period" for t in svg.findall(SVG + "text"))
