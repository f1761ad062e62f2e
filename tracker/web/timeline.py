"""The patient's timeline as a server-side SVG picture: pregnancy tests, the windows they open,
contraception, counseling visits and signatures, authorizations and dispenses, on one date axis
with today marked. Drawn with classes only (the stylesheet colours them; the CSP forbids inline
styles), every mark titled with what it is and its date and reachable with the keyboard, so a
pointer, a keyboard or a screen reader can read it; `legend` names every kind of mark."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup, escape

from tracker.domain.contraception import METHOD_LABELS
from tracker.domain.facts import ContraceptionEntry, PatientFacts, TestResult
from tracker.domain.next_steps import FillWindow
from tracker.models import Authorization, AuthorizationState, Dispense

WIDTH = 960
LEFT = 150  # room for the lane names
RIGHT = 16
TOP = 28  # room for the month names
LANE = 36
MIN_SPAN = timedelta(days=60)
MAX_SPAN = timedelta(days=200)
AHEAD = timedelta(days=21)  # how far past today the picture reaches

LANES = ("Pregnancy tests", "Fill windows", "Contraception", "Visits and signatures",
         "Authorizations", "Dispenses")
TESTS, WINDOWS, CONTRACEPTION, VISITS, AUTHORIZATIONS, DISPENSES = range(len(LANES))
# Every kind of mark the picture draws, by its class, with the words of its legend entry.
LEGEND = (
    ("tl-test-negative", "negative test"),
    ("tl-test-positive", "positive test"),
    ("tl-window-test", "test window"),
    ("tl-window-visit", "visit window"),
    ("tl-contraception", "contraception started"),
    ("tl-counseling", "counseling"),
    ("tl-signature", "acknowledgment signed"),
    ("tl-course-end", "last dose"),
    ("tl-auth-open", "open authorization"),
    ("tl-auth-dispensed", "dispensed authorization"),
    ("tl-auth-closed", "reversed or lapsed authorization"),
    ("tl-dispense", "dispense"),
    ("tl-today", "today"),
)
_SETTING_WORDS = {"lab": "laboratory", "office": "office", "home": "home"}


@dataclass(frozen=True)
class TimelineData:
    """What the picture shows; windows come from tracker.domain.next_steps.fill_windows."""

    today: date
    facts: PatientFacts
    windows: tuple[FillWindow, ...]
    authorizations: list[Authorization]
    dispenses: list[tuple[Dispense, str]]
    closers: dict[int, str] = field(default_factory=dict)  # authorization id -> who closed it
    # Tests that can only be a first fill's screening test (next_steps.screening_only_tests).
    screening: frozenset[int] = frozenset()


def _reversal(auth: Authorization, closers: dict[int, str]) -> str:
    """Who reversed an authorization and why, for its mark."""
    if auth.state != AuthorizationState.REVERSED:
        return ""
    who = f" by {closers[auth.id]}" if auth.id in closers else ""
    why = f": {auth.close_reason}" if auth.close_reason else ""
    return f", reversed{who}{why}"


def _dates(data: TimelineData) -> Iterable[date]:
    facts = data.facts
    yield from (t.collected_on for t in facts.pregnancy_tests)
    yield from (c.started_on for c in facts.contraception)
    yield from (c.counseled_on for c in facts.counseling)
    yield from (a.signed_on for a in facts.acknowledgments)
    yield from (e.last_dose_on for e in facts.course_ends)
    yield from (a.issued_on for a in data.authorizations)
    yield from (d.dispensed_on for d, _ in data.dispenses)


def date_range(data: TimelineData) -> tuple[date, date]:
    """From a week before the oldest record (at most MAX_SPAN back) to three weeks ahead."""
    end = data.today + AHEAD
    oldest = min(_dates(data), default=data.today)
    start = max(oldest - timedelta(days=7), end - MAX_SPAN)
    return min(start, end - MIN_SPAN), end


class _Canvas:
    def __init__(self, start: date, end: date, written: Callable[[date], str]) -> None:
        self.start = start
        self.end = end
        self.days = (end - start).days
        self.written = written
        self.parts: list[str] = []

    def x(self, day: date) -> float:
        day = min(max(day, self.start), self.end)
        return round(LEFT + (day - self.start).days * (WIDTH - LEFT - RIGHT) / self.days, 1)

    def visible(self, first: date, last: date) -> bool:
        return last >= self.start and first <= self.end

    def lane_y(self, lane: int) -> float:
        return TOP + lane * LANE + LANE / 2

    def add(self, element: str, title: str, **attrs: object) -> None:
        """A mark a keyboard can reach (tabindex), named by its title for a screen reader
        (aria-label, since not every reader takes an SVG <title> as the name) and a pointer."""
        attrs = {**attrs, "tabindex": 0, "role": "img", "aria_label": title}
        attributes = " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
                              for k, v in attrs.items())
        self.parts.append(f"<{element} {attributes}><title>{escape(title)}</title></{element}>")

    def bar(self, lane: int, first: date, last: date, css: str, title: str) -> None:
        if not self.visible(first, last):
            return
        x1 = self.x(first)
        x2 = max(self.x(last + timedelta(days=1)), x1 + 3)
        self.add("rect", title, x=x1, y=self.lane_y(lane) - 7, width=round(x2 - x1, 1),
                 height=14, rx=3, class_=css)

    def dot(self, lane: int, day: date, css: str, title: str) -> None:
        if self.visible(day, day):
            self.add("circle", title, cx=self.x(day), cy=self.lane_y(lane), r=6, class_=css)

    def diamond(self, lane: int, day: date, css: str, title: str) -> None:
        if not self.visible(day, day):
            return
        x, y = self.x(day), self.lane_y(lane)
        points = f"{x},{y - 8} {x + 8},{y} {x},{y + 8} {x - 8},{y}"
        self.add("polygon", title, points=points, class_=css)


def _axis(canvas: _Canvas, today: date) -> None:
    height = TOP + LANE * len(LANES)
    for lane, name in enumerate(LANES):
        y = canvas.lane_y(lane)
        canvas.parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" class="tl-lane"/>'
            f'<text x="8" y="{y + 4}" class="tl-lane-name">{escape(name)}</text>')
    month = date(canvas.start.year, canvas.start.month, 1)
    while month <= canvas.end:
        if month >= canvas.start:
            x = canvas.x(month)
            label = f"{month:%b}" + (f" {month.year}" if month.month == 1 else "")
            canvas.parts.append(
                f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{height}" class="tl-month"/>'
                f'<text x="{x + 3}" y="{TOP - 10}" class="tl-month-name">{label}</text>')
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    x = canvas.x(today)
    canvas.add("line", f"Today, {canvas.written(today)}", x1=x, y1=TOP - 6, x2=x, y2=height,
               class_="tl-today")
    canvas.parts.append(f'<text x="{x + 3}" y="{height + 14}" class="tl-today-name">Today</text>')


def _contraception_words(entry: ContraceptionEntry) -> str:
    if entry.abstinence:
        return "commitment to abstinence"
    return ", ".join(sorted(METHOD_LABELS.get(m, m) for m in entry.methods))


def legend() -> Markup:
    """The legend under the picture: one entry for every kind of mark `render` draws."""
    keys = "".join(f'<span class="key key-{css}">{escape(words)}</span>'
                   for css, words in LEGEND)
    return Markup(keys)  # noqa: S704  # nosec B704 - the words went through escape()


def render(data: TimelineData, written: Callable[[date], str]) -> Markup:
    """The SVG markup of the patient's timeline (`written` formats a date for the titles)."""
    start, end = date_range(data)
    canvas = _Canvas(start, end, written)
    _axis(canvas, data.today)
    facts = data.facts
    for test in facts.pregnancy_tests:
        negative = test.result == TestResult.NEGATIVE
        css = "tl-test-negative" if negative else "tl-test-positive"
        canvas.dot(TESTS, test.collected_on, css,
                   f"{'Negative' if negative else 'Positive'} pregnancy test "
                   f"({_SETTING_WORDS[test.setting]}), collected {written(test.collected_on)}")
    for item in data.windows:
        # RULES.md §6.6: a first fill needs a screening test S and a confirmation test C
        # >= S + 19 days whose window covers the fill; a test with no negative test 19 days
        # before it can only be S, so its D..D+6 (§6.4) would promise a fill it cannot allow.
        if item.kind == "test" and item.record_id in data.screening:
            continue
        w = item.window
        what = "Test window" if item.kind == "test" else "Visit window"
        canvas.bar(WINDOWS, w.opens_on, w.closes_on, f"tl-window tl-window-{item.kind}",
                   f"{what}: {written(w.opens_on)} to {written(w.closes_on)}")
    for entry in facts.contraception:
        canvas.dot(CONTRACEPTION, entry.started_on, "tl-contraception",
                   f"Contraception started {written(entry.started_on)}: "
                   f"{_contraception_words(entry)} (entered {written(entry.recorded_on)})")
    for visit in facts.counseling:
        canvas.dot(VISITS, visit.counseled_on, "tl-counseling",
                   f"Counseling, {written(visit.counseled_on)}")
    for ack in facts.acknowledgments:
        canvas.diamond(VISITS, ack.signed_on, "tl-signature",
                       f"Acknowledgment signed, {written(ack.signed_on)}")
    for course_end in facts.course_ends:
        canvas.diamond(VISITS, course_end.last_dose_on, "tl-course-end",
                       f"Last dose (course ended), {written(course_end.last_dose_on)}")
    for auth in data.authorizations:
        last = auth.do_not_dispense_after or (
            auth.closed_at.date() if auth.closed_at is not None else data.today)
        until = (f", do not dispense after {written(auth.do_not_dispense_after)}"
                 if auth.do_not_dispense_after else "")
        closed = (" tl-auth-closed" if auth.state in (AuthorizationState.REVERSED,
                                                       AuthorizationState.LAPSED) else "")
        canvas.bar(AUTHORIZATIONS, auth.issued_on, max(last, auth.issued_on),
                   f"tl-auth tl-auth-{auth.state}{closed}",
                   f"Authorization {auth.number} ({auth.state}), issued "
                   f"{written(auth.issued_on)}{until}{_reversal(auth, data.closers)}")
    for dispense, number in data.dispenses:
        canvas.diamond(DISPENSES, dispense.dispensed_on, "tl-dispense",
                       f"Dispensed {written(dispense.dispensed_on)} ({number}, "
                       f"{dispense.days_supply} days)")
    height = TOP + LANE * len(LANES) + 22
    summary = (f"From {written(start)} to {written(end)}: {len(facts.pregnancy_tests)} "
               f"pregnancy tests, {len(data.authorizations)} authorizations, "
               f"{len(data.dispenses)} dispenses.")
    # Every text part above went through escape(); the rest is markup of our own.
    return Markup(  # noqa: S704  # nosec B704
        # role="group", not "img": the children of an image are hidden from screen readers, and
        # every mark is to be reached and read on its own.
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="group" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="timeline-title timeline-desc">'
        f'<title id="timeline-title">Timeline of the patient\'s records</title>'
        f'<desc id="timeline-desc">{escape(summary)}</desc>'
        + "".join(canvas.parts) + "</svg>"
    )
