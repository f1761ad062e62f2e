"""Bar charts drawn on the server as SVG, embedded in the page: no script, no style element
(the Content-Security-Policy allows neither inline), only presentation attributes. Each chart
is an image with a title and a description for assistive technology (role="img",
aria-labelledby); the page shows the same numbers as a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup

# Colours told apart with the common colour-vision deficiencies (Okabe-Ito), each also named
# in the legend.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
WIDTH = 720
ROW = 26  # a horizontal bar's row height
FONT = 12
_ids = count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def _nice_top(largest: int) -> int:
    """The axis' top: a round number at or above the largest value (at least 1)."""
    if largest <= 5:
        return max(largest, 1)
    step = 10 ** (len(str(largest)) - 1)
    for multiple in (1, 2, 2.5, 4, 5, 8, 10):
        top = int(step * multiple)
        if top >= largest:
            return top
    return largest  # pragma: no cover - 10 * step is always at or above largest


def _open(title: str, description: str, width: int, height: int) -> tuple[list[Markup], str]:
    ident = f"chart{next(_ids)}"
    head = [
        Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
               'viewBox="0 0 {} {}" width="100%" aria-labelledby="{}-title {}-desc" '
               'font-family="sans-serif" font-size="{}">').format(
                   width, height, ident, ident, FONT),
        Markup('<title id="{}-title">{}</title>').format(ident, title),
        Markup('<desc id="{}-desc">{}</desc>').format(ident, description),
    ]
    return head, ident


def column_chart(title: str, description: str, labels: Sequence[str],
                 series: Sequence[Series], height: int = 300) -> Markup:
    """Vertical bars: one group per label, one bar per series in each group, a legend when
    there are several series, the value above each bar."""
    parts, _ = _open(title, description, WIDTH, height)
    left, right, top, bottom = 48, 12, 28 if len(series) > 1 else 12, 48
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = _nice_top(max((v for s in series for v in s.values), default=0))
    parts += _value_axis(left, top, plot_w, plot_h, peak)
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / peak
            x, y = x0 + j * bar, top + plot_h - h
            parts.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                                'fill="{}"><title>{}, {}: {}</title></rect>').format(
                x, y, bar * 0.92, h, PALETTE[j % len(PALETTE)], label, s.name, value))
            if value and bar >= 20:
                parts.append(Markup('<text x="{:.1f}" y="{:.1f}" text-anchor="middle" '
                                    'font-size="{}">{}</text>').format(
                    x + bar * 0.46, y - 3, FONT - 2, value))
        parts.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>').format(
            left + i * group + group / 2, top + plot_h + 16, label))
    if len(series) > 1:
        parts += _legend(series, left, 4)
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def bar_chart(title: str, description: str, labels: Sequence[str], values: Sequence[int],
              label_width: int = 260) -> Markup:
    """Horizontal bars, one per label, the value at the end of each bar."""
    height = max(len(labels), 1) * ROW + 36
    parts, _ = _open(title, description, WIDTH, height)
    left, right, top = label_width, 60, 8
    plot_w = WIDTH - left - right
    peak = _nice_top(max(values, default=0))
    if not labels:
        parts.append(Markup('<text x="{}" y="24" text-anchor="middle">None in the period'
                            '</text>').format(WIDTH / 2))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * ROW
        w = plot_w * value / peak
        parts.append(Markup('<text x="{}" y="{:.1f}" text-anchor="end">{}</text>').format(
            left - 8, y + ROW / 2 + 4, label))
        parts.append(Markup('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}">'
                            '<title>{}: {}</title></rect>').format(
            left, y + 4, w, ROW - 8, PALETTE[0], label, value))
        parts.append(Markup('<text x="{:.1f}" y="{:.1f}">{}</text>').format(
            left + w + 6, y + ROW / 2 + 4, value))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _value_axis(left: int, top: int, width: float, height: float, peak: int) -> list[Markup]:
    out = []
    for k in range(5):
        value = peak * k / 4
        y = top + height - height * k / 4
        shown = f"{value:g}" if value == int(value) else f"{value:.1f}"
        out.append(Markup('<line x1="{}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ccc" '
                          'stroke-width="1"/>').format(left, y, left + width, y))
        out.append(Markup('<text x="{}" y="{:.1f}" text-anchor="end">{}</text>').format(
            left - 6, y + 4, shown))
    return out


def _legend(series: Sequence[Series], x: int, y: int) -> list[Markup]:
    out = []
    for j, s in enumerate(series):
        out.append(Markup('<rect x="{}" y="{}" width="12" height="12" fill="{}"/>').format(
            x, y + 2, PALETTE[j % len(PALETTE)]))
        out.append(Markup('<text x="{}" y="{}">{}</text>').format(x + 16, y + 12, s.name))
        x += 24 + 8 * len(s.name)
    return out
