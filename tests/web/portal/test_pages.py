"""What the patient sees in their own portal: enrolled or not, what the next fill still needs and
who does it (read from the engine's checklist), the program number, their open authorizations
with a QR code holding only the authorization number, the warning and their acknowledgment; and
the monthly questions, which count for the engine exactly as the ones answered at the clinic."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock, csrf_token, login, post_form, shown_again
from tests.web.portal.helpers import portal_login
from tracker.models import AuditEvent, ComprehensionAttempt, Patient, User
from tracker.services import authorizations, records
from tracker.services.context import Context
from tracker.services.errors import Refused

WRONG = {**builders.ANSWERS, "share-ok": True, "blood-donation": True}


def answer_form(answers: dict[str, bool], methods: list[str]) -> dict[str, object]:
    data: dict[str, object] = {
        "q_" + qid.replace("-", "_"): "true" if value else "false"
        for qid, value in answers.items()}
    data["primary_methods"] = [m for m in methods if m in ("iud", "combined_pill")]
    data["secondary_methods"] = [m for m in methods if m == "male_condom"]
    return data


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


def signed_in(client: FlaskClient, doc: Context, patient: Patient) -> User:
    user = builders.patient_account(doc, patient.id)
    portal_login(client, user.email)
    return user


def waiting_for_the_questions(doc: Context) -> Patient:
    """Ready for a first fill today except for the patient's monthly questions."""
    today = doc.today()
    p = builders.enrolled_patient(doc)
    records.record_pregnancy_test(doc, p.id, today - timedelta(days=40), "negative", "office")
    records.record_contraception(doc, p.id, today - timedelta(days=1),
                                 today - timedelta(days=40), ["iud", "male_condom"], False)
    records.record_counseling(doc, p.id, today - timedelta(days=1))
    records.record_pregnancy_test(doc, p.id, today - timedelta(days=1), "negative", "lab")
    return p


def test_a_newly_enrolled_patient_reads_what_the_clinic_and_they_still_do(
        doc: Context, client: FlaskClient) -> None:
    patient = builders.enrolled_patient(doc)
    signed_in(client, doc, patient)
    page = client.get("/portal").get_data(as_text=True)
    assert "You are enrolled." in page and patient.program_number in page
    assert "Answer your monthly questions and confirm your birth control." in page
    assert "Your clinic records your pregnancy test." in page
    assert "Your clinic records your two birth control methods" in page
    assert "Your prescriber confirms this month" in page


def test_a_patient_not_enrolled_is_told_so(doc: Context, client: FlaskClient) -> None:
    patient = builders.patient(doc)
    signed_in(client, doc, patient)
    page = client.get("/portal").get_data(as_text=True)
    assert "You are not enrolled yet." in page
    assert "Your clinic records your signed acknowledgment of the warning." in page


def test_the_window_of_the_next_fill_is_dated(doc: Context, client: FlaskClient) -> None:
    patient = waiting_for_the_questions(doc)
    signed_in(client, doc, patient)
    page = client.get("/portal").get_data(as_text=True)
    # The confirmation test of Dec 14 opens a window that closes on Dec 20 (RULES.md §6.4).
    assert "The window for your next fill closes on December 20, 2026." in page
    assert "Your clinic records your pregnancy test." not in page


def test_a_wrong_answer_names_the_statements_and_the_patient_answers_again(
        ctx: Context, doc: Context, client: FlaskClient) -> None:
    patient = waiting_for_the_questions(doc)
    user = signed_in(client, doc, patient)
    sent = post_form(client, "/portal/monthly", answer_form(WRONG, ["iud", "male_condom"]))
    failed = shown_again(client, sent, "/portal/monthly")  # Post/Redirect/Get
    page = failed.get_data(as_text=True)
    assert "2 answers are not right" in page
    assert "It is acceptable to share isotretinoin with a friend who has acne." in page
    assert "I may donate blood while I am taking isotretinoin." in page
    rx = builders.prescription(doc, patient.id)
    with pytest.raises(Refused):  # a failed attempt changes nothing (RULES.md §6.3)
        authorizations.authorize(doc, rx.id, signature=SIGNED)

    passed = post_form(client, "/portal/monthly",
                       answer_form(builders.ANSWERS, ["iud", "male_condom"]))
    assert passed.status_code == 302
    attempts = ctx.session.scalars(select(ComprehensionAttempt).where(
        ComprehensionAttempt.patient_id == patient.id).order_by(ComprehensionAttempt.id)).all()
    assert [a.passed for a in attempts] == [False, True]
    assert {a.recorded_by for a in attempts} == {user.id}
    assert attempts[-1].completed_on == doc.today()
    # The patient's own answers count for the engine as the hand-over's do.
    assert authorizations.authorize(doc, rx.id, signature=SIGNED).number


def test_other_methods_than_the_clinics_are_a_mismatch_the_page_explains(
        doc: Context, client: FlaskClient) -> None:
    patient = waiting_for_the_questions(doc)
    signed_in(client, doc, patient)
    post_form(client, "/portal/monthly", answer_form(builders.ANSWERS,
                                                     ["combined_pill", "male_condom"]))
    page = client.get("/portal").get_data(as_text=True)
    assert "the birth control you confirmed is not what your clinic recorded" in page


def test_one_method_alone_is_refused_and_nothing_is_stored(
        ctx: Context, doc: Context, client: FlaskClient) -> None:
    patient = waiting_for_the_questions(doc)
    signed_in(client, doc, patient)
    sent = post_form(client, "/portal/monthly", answer_form(builders.ANSWERS, ["iud"]))
    response = shown_again(client, sent, "/portal/monthly")
    assert "Enter two different methods" in response.get_data(as_text=True)
    assert client.get("/portal/monthly").get_data(as_text=True).count("Enter two different") == 0
    assert ctx.session.scalars(select(ComprehensionAttempt).where(
        ComprehensionAttempt.patient_id == patient.id)).all() == []


def test_a_patient_who_cannot_get_pregnant_has_no_monthly_questions(
        doc: Context, client: FlaskClient) -> None:
    patient = builders.enrolled_patient(doc, category="cannot_get_pregnant")
    signed_in(client, doc, patient)
    assert client.get("/portal/monthly").status_code == 404
    assert "Answer your monthly questions" not in client.get("/portal").get_data(as_text=True)


def test_every_action_is_audited_with_the_patient_as_actor(
        ctx: Context, doc: Context, client: FlaskClient) -> None:
    patient = waiting_for_the_questions(doc)
    user = signed_in(client, doc, patient)
    post_form(client, "/portal/monthly", answer_form(builders.ANSWERS, ["iud", "male_condom"]))
    client.post("/logout", data={"csrf_token": csrf_token(
        client.get("/portal").get_data(as_text=True))})
    rows = ctx.session.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.actor_role)
                               .where(AuditEvent.actor_id == user.id)).all()
    actions = [r.action for r in rows]
    assert {"portal.account_created", "login.succeeded", "comprehension.recorded",
            "logout"} <= set(actions)
    assert {r.actor_role for r in rows} == {"patient"}


def test_the_qr_code_holds_the_authorization_number_only(
        doc: Context, client: FlaskClient) -> None:
    patient = builders.ready_for_first_fill(doc)
    auth = authorizations.authorize(doc, builders.prescription(doc, patient.id).id,
                                    signature=SIGNED)
    signed_in(client, doc, patient)
    page = client.get("/portal").get_data(as_text=True)
    assert auth.number in page and "December 20, 2026" in page  # do not dispense after
    shown = client.get(f"/portal/authorizations/{auth.id}/qr.svg")
    assert shown.status_code == 200 and shown.mimetype == "image/svg+xml"
    expected = io.BytesIO()
    segno.make(auth.number, error="m").save(expected, kind="svg", scale=8, border=4,
                                            xmldecl=False, dark="#000000", light="#ffffff")
    assert shown.data == expected.getvalue()
    assert segno.make(auth.number, error="m").designator.endswith("-M")
    assert patient.last_name.encode() not in shown.data


def test_a_dispensed_authorization_has_no_qr_code_any_more(
        ctx: Context, doc: Context, client: FlaskClient) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    from tracker.services import dispenses

    dispenses.dispense(builders.as_user(ctx, builders.pharmacist(ctx)), rx.id, auth.number,
                       30, 30, True)
    signed_in(client, doc, patient)
    assert client.get(f"/portal/authorizations/{auth.id}/qr.svg").status_code == 404


@pytest.mark.parametrize("scanned", ["{n}", "{n}\n", "{compact}"])
def test_the_pharmacy_lookup_takes_the_scanned_value(
        ctx: Context, doc: Context, app: Flask, api, scanned: str) -> None:  # type: ignore[no-untyped-def]
    patient = builders.ready_for_first_fill(doc)
    auth = authorizations.authorize(doc, builders.prescription(doc, patient.id).id,
                                    signature=SIGNED)
    value = scanned.format(n=auth.number, compact=auth.number.replace("-", "").lower())
    pharmacist = builders.pharmacist(ctx)
    counter = app.test_client()
    login(counter, pharmacist.email, builders.PASSWORD)
    found = post_form(counter, "/pharmacy", {"authorization_number": value,
                                             "date_of_birth": "1995-04-02"},
                      follow_redirects=True)
    assert found.status_code == 200 and auth.number in found.get_data(as_text=True)
    answer = api(ctx, pharmacist).get(f"/authorizations/{value.strip()}",
                                      query_string={"date_of_birth": "1995-04-02"})
    assert answer.status_code == 200
    assert answer.get_json()["prescription"]["authorization"]["number"] == auth.number


def test_the_warning_and_the_patients_own_acknowledgment(
        doc: Context, client: FlaskClient) -> None:
    patient = builders.enrolled_patient(doc)
    signed_in(client, doc, patient)
    page = client.get("/portal/warning").get_data(as_text=True)
    assert "Isotretinoin and pregnancy: what I must know before treatment" in page
    assert "Isotretinoin can cause severe birth defects in a baby" in page
    assert "Alex Rivera" in page and "I have read and understood" in page


def test_staff_pages_are_forbidden_to_a_patient(doc: Context, client: FlaskClient) -> None:
    patient = builders.enrolled_patient(doc)
    signed_in(client, doc, patient)
    assert client.get(f"/patients/{patient.id}").status_code == 403
    assert client.get("/pharmacy").status_code == 403
    assert client.get("/").headers["Location"].endswith("/portal")


def test_the_session_ends_after_the_idle_limit_as_for_staff(
        doc: Context, client: FlaskClient, clock: Clock) -> None:
    patient = builders.enrolled_patient(doc)
    signed_in(client, doc, patient)
    clock.now += timedelta(minutes=16)
    response = client.get("/portal")
    assert response.status_code == 302
    landing = client.get(response.headers["Location"], follow_redirects=True)
    assert "Your session ended after a period of inactivity" in landing.get_data(as_text=True)


def test_while_an_authorization_is_open_nothing_else_is_asked(
        doc: Context, client: FlaskClient) -> None:
    patient = builders.ready_for_first_fill(doc)
    authorizations.authorize(doc, builders.prescription(doc, patient.id).id, signature=SIGNED)
    signed_in(client, doc, patient)
    page = client.get("/portal").get_data(as_text=True)
    assert "Nothing: your medicine is authorized. Pick it up at the pharmacy." in page
    assert "The window for your next fill" not in page


def test_answers_sent_after_the_session_expired_come_back_after_sign_in_in_spanish(
        doc: Context, client: FlaskClient, clock: Clock) -> None:
    patient = waiting_for_the_questions(doc)
    user = signed_in(client, doc, patient)
    page = client.get("/portal/monthly?lang=es").get_data(as_text=True)
    clock.now += timedelta(minutes=16)
    sent = client.post("/portal/monthly", data={
        **answer_form(builders.ANSWERS, ["iud", "male_condom"]),
        "csrf_token": csrf_token(page)})
    assert sent.status_code == 302
    to_portal = client.get(sent.headers["Location"])  # the staff sign-in sends a patient on
    assert to_portal.headers["Location"].startswith("/portal/login?next=/portal/monthly&draft=")
    login_url = to_portal.headers["Location"]
    login_page = client.get(login_url).get_data(as_text=True)
    assert "Su sesión terminó tras un periodo sin actividad." in login_page
    back = client.post(login_url, data={"email": user.email, "password": builders.PASSWORD,
                                        "csrf_token": csrf_token(login_page)})
    assert back.status_code == 302 and back.headers["Location"] == "/portal/monthly"
    form = client.get("/portal/monthly").get_data(as_text=True)
    assert "Lo que escribió aparece abajo" in form
    iud = re.search(r'<input[^>]*value="iud"[^>]*>', form)
    assert iud is not None and "checked" in iud.group(0)
