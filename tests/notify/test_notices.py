"""What each reader is told, read from the engine's next steps: the patient's notices in their
language (none without an address or after an opt-out), the care team's daily digest, and the
outbox that takes each notice once."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import func, select

from tests import builders
from tests.builders import ANSWERS, SIGNED
from tracker.models import Notice, NoticeAudience, NoticeStatus, User
from tracker.services import authorizations, patients, records
from tracker.services.context import Context
from tracker.services.notice_texts import long_date, render
from tracker.services.notices import Planned, plan, queue

METHODS = ["iud", "male_condom"]


def _doc(ctx: Context) -> tuple[User, Context]:
    doc = builders.prescriber(ctx)
    return doc, builders.as_user(ctx, doc)


def _with_email(doc: Context, patient_id: int, language: str = "en") -> None:
    patients.change_reminders(doc, patient_id, email="pat@example.org", language=language)


def _kinds(ctx: Context, patient_id: int) -> dict[str, Planned]:
    return {p.kind: p for p in plan(ctx) if p.patient_id == patient_id}


def _waiting_for_lead_time(doc: Context, contraception: bool = True):  # type: ignore[no-untyped-def]
    """A first fill: screening test 10 days ago, contraception from then: the confirmation
    test waits for the 19-day gap and the 30-day wait (RULES.md §6.6, §6.7)."""
    today = doc.today()
    p = builders.enrolled_patient(doc, signed_on=today - timedelta(days=12))
    records.record_pregnancy_test(doc, p.id, today - timedelta(days=10), "negative", "office")
    if contraception:
        records.record_contraception(doc, p.id, today - timedelta(days=10),
                                     today - timedelta(days=10), METHODS, False)
    records.record_counseling(doc, p.id, today - timedelta(days=10))
    return p


def test_a_patient_waiting_for_the_confirmation_test_is_told_from_when(ctx: Context) -> None:
    _, doc = _doc(ctx)
    p = _waiting_for_lead_time(doc)
    _with_email(doc, p.id)
    found = _kinds(ctx, p.id)
    # The 30-day wait from the contraception start 10 days ago ends in 20 days.
    day = ctx.today() + timedelta(days=20)
    assert found["test_from"].key == f"test_from:{p.id}:{day.isoformat()}"
    assert found["test_from"].values["from_day"] == long_date(day, "en")
    assert found["test_from"].to_address == "pat@example.org"
    assert "monthly_questions" in found  # no comprehension answers this cycle yet


def test_no_date_is_announced_while_it_moves_with_each_day(ctx: Context) -> None:
    """Without a contraception entry the wait counts from today: tomorrow it is another day."""
    _, doc = _doc(ctx)
    p = _waiting_for_lead_time(doc, contraception=False)
    _with_email(doc, p.id)
    assert "test_from" not in _kinds(ctx, p.id)


def test_no_address_or_an_opt_out_means_no_patient_notice(ctx: Context) -> None:
    _, doc = _doc(ctx)
    p = _waiting_for_lead_time(doc)
    assert _kinds(ctx, p.id) == {}
    _with_email(doc, p.id)
    assert _kinds(ctx, p.id)
    patients.change_reminders(doc, p.id, opted_out=True)
    assert _kinds(ctx, p.id) == {}


def _authorized_closing_tomorrow(doc: Context):  # type: ignore[no-untyped-def]
    """Every first-fill rule met with a confirmation test 5 days ago: its window D..D+6
    closes tomorrow; authorized today."""
    today = doc.today()
    ago = lambda n: today - timedelta(days=n)  # noqa: E731
    p = builders.enrolled_patient(doc, signed_on=ago(60))
    records.record_pregnancy_test(doc, p.id, ago(45), "negative", "office")
    records.record_contraception(doc, p.id, ago(5), ago(45), METHODS, False)
    records.record_counseling(doc, p.id, ago(5))
    records.record_pregnancy_test(doc, p.id, ago(5), "negative", "lab")
    records.record_comprehension(doc, p.id, ago(5), ANSWERS, METHODS, False)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    return p, auth


def test_an_issued_authorization_and_its_last_day_tomorrow(ctx: Context, app: Flask) -> None:
    _, doc = _doc(ctx)
    p, auth = _authorized_closing_tomorrow(doc)
    _with_email(doc, p.id, "es")
    found = _kinds(ctx, p.id)
    tomorrow = ctx.today() + timedelta(days=1)
    issued = found["authorization_issued"]
    assert issued.key == f"authorization_issued:{auth.number}"
    assert issued.values["number"] == auth.number
    assert issued.values["last_day"] == long_date(tomorrow, "es")
    closing = found["window_closing"]
    assert closing.key == f"window_closing:{p.id}:{tomorrow.isoformat()}"
    assert closing.values["at_pharmacy"] is True
    text = render(app.jinja_env, "authorization_issued", "es", issued.values)
    assert auth.number in text.text and "número de autorización" in text.text
    assert long_date(tomorrow, "es") in text.html
    assert "farmacia" in text.subject and auth.number not in text.subject


def test_the_post_treatment_test_is_announced_a_week_ahead(ctx: Context) -> None:
    """RULES.md §10: due 30 days after the last dose; announced from 7 days before."""
    _, doc = _doc(ctx)
    soon = builders.enrolled_patient(doc, first="Soon")
    later = builders.enrolled_patient(doc, first="Later")
    patients.end_course(doc, soon.id, ctx.today() - timedelta(days=25))
    patients.end_course(doc, later.id, ctx.today() - timedelta(days=10))
    for p in (soon, later):
        _with_email(doc, p.id)
    due = ctx.today() + timedelta(days=5)
    assert _kinds(ctx, soon.id)["post_treatment_test"].key == (
        f"post_treatment_test:{soon.id}:{due.isoformat()}")
    assert "post_treatment_test" not in _kinds(ctx, later.id)


def test_the_care_team_digest_goes_to_the_prescriber_and_each_of_their_staff(
        ctx: Context) -> None:
    owner, doc = _doc(ctx)
    other = builders.prescriber(ctx, name="Lee Skin")
    other_doc = builders.as_user(ctx, other)
    quiet = builders.prescriber(ctx, name="Quiet Doc")
    both = builders.staff(ctx, owner, other, name="Both Staff")
    only_quiet = builders.staff(ctx, quiet, name="Quiet Staff")
    positive = builders.enrolled_patient(doc, first="Quinn")
    records.record_pregnancy_test(doc, positive.id, ctx.today() - timedelta(days=2), "positive",
                                  "lab")
    closing, _ = _authorized_closing_tomorrow(other_doc)
    builders.enrolled_patient(builders.as_user(ctx, quiet))
    digests = {p.user_id: p for p in plan(ctx) if p.kind == "digest"}
    assert set(digests) == {owner.id, other.id, both.id}
    assert only_quiet.id not in digests and quiet.id not in digests
    day = ctx.today().isoformat()
    assert digests[owner.id].key == f"digest:{owner.id}:{day}"
    assert digests[owner.id].audience == NoticeAudience.CARE_TEAM
    staff_sections = digests[both.id].values["sections"]
    assert [name for name, _ in staff_sections] == sorted([owner.name, other.name],
                                                          key=lambda n: n != owner.name)
    owner_items = digests[owner.id].values["sections"][0][1]
    assert [(i.patient_name, i.what) for i in owner_items] == [
        (f"{positive.last_name}, {positive.first_name}", "registry_report")]
    other_items = digests[other.id].values["sections"][0][1]
    assert [i.what for i in other_items] == ["window_closing"]


def test_the_digest_subject_names_no_patient_and_nothing_clinical(ctx: Context,
                                                                  app: Flask) -> None:
    owner, doc = _doc(ctx)
    p = builders.enrolled_patient(doc, first="Quinn")
    records.record_pregnancy_test(doc, p.id, ctx.today() - timedelta(days=2), "positive", "lab")
    digest = next(n for n in plan(ctx) if n.kind == "digest" and n.user_id == owner.id)
    text = render(app.jinja_env, "digest", "en", digest.values)
    assert text.subject == "Daily summary: 1 item needs attention"
    assert "Quinn" in text.text and "registry report" in text.text
    assert "Quinn" in text.html


def test_every_patient_subject_is_free_of_clinical_words(app: Flask) -> None:
    values = {"first_name": "Quinn", "from_day": "x", "today": False, "closes_on": "x",
              "at_pharmacy": True, "number": "AB12", "last_day": "x", "due_on": "x",
              "overdue": False}
    for kind in ("test_from", "window_closing", "monthly_questions", "authorization_issued",
                 "post_treatment_test"):
        for language in ("en", "es"):
            text = render(app.jinja_env, kind, language, values)
            lowered = text.subject.lower()
            for word in ("pregnan", "embaraz", "isotretinoin", "test", "prueba", "quinn",
                         "ab12", "authoriz", "autoriz"):
                assert word not in lowered, (kind, language, text.subject)
            assert "Quinn" in text.text and "Quinn" in text.html
            assert text.html.startswith("<!doctype html>")
            assert f'lang="{language}"' in text.html


def test_queued_once_whatever_the_number_of_runs(ctx: Context, app: Flask) -> None:
    _, doc = _doc(ctx)
    p = _waiting_for_lead_time(doc)
    _with_email(doc, p.id, "es")
    first = queue(ctx, plan(ctx), app.jinja_env)
    assert first >= 2
    assert queue(ctx, plan(ctx), app.jinja_env) == 0
    rows = list(ctx.session.scalars(select(Notice).where(Notice.patient_id == p.id)))
    assert {r.status for r in rows} == {NoticeStatus.PENDING}
    assert all(r.language == "es" and "Hola, Alex" in r.body_text for r in rows)
    keys = [r.key for r in ctx.session.scalars(select(Notice))]
    assert len(keys) == len(set(keys))
    assert ctx.session.scalar(select(func.count()).select_from(Notice)) == len(keys)


def test_long_dates_in_each_language() -> None:
    day = date(2026, 12, 3)
    assert long_date(day, "en") == "Thursday, December 3, 2026"
    assert long_date(day, "es") == "jueves, 3 de diciembre de 2026"
