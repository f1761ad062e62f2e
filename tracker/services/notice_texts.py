"""The words of reminder emails: one template per kind of notice and language under
templates/email/<language>/ (<kind>.txt with a `subject` and a `body` block, <kind>.html for
the HTML part), written in each language by hand rather than through a translation catalogue,
and dates spelled out as a reader of that language writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}
_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}


def long_date(day: date, language: str) -> str:
    """Thursday, December 3, 2026 / jueves, 3 de diciembre de 2026."""
    weekday = _WEEKDAYS[language][day.weekday()]
    month = _MONTHS[language][day.month - 1]
    if language == "es":
        return f"{weekday}, {day.day} de {month} de {day.year}"
    return f"{weekday}, {month} {day.day}, {day.year}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _block(env: Environment, name: str, block: str, values: dict[str, Any]) -> str:
    template = env.get_template(name)
    return "".join(template.blocks[block](template.new_context(values)))


def render(env: Environment, kind: str, language: str, values: dict[str, Any]) -> Rendered:
    """The subject (one line), the plain text and the HTML of a notice."""
    base = f"email/{language}/{kind}"
    subject = " ".join(_block(env, base + ".txt", "subject", values).split())
    text = _block(env, base + ".txt", "body", values).strip() + "\n"
    html = env.get_template(base + ".html").render(values)
    return Rendered(subject, text, html)
