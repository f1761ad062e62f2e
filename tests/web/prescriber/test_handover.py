"""The comprehension hand-over: while the patient holds the clinic's screen, the session opens
nothing but the questions; the clinic takes the screen back only with the signed-in user's
password, and wrong passwords count like failed sign-ins."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import csrf_token, login, shown_again, take_screen_back
from tracker.models import AuditEvent, User
from tracker.services.context import Context


def hand_over(ctx: Context, client: FlaskClient) -> tuple[User, int]:
    doc_user = builders.prescriber(ctx)
    patient = builders.enrolled_patient(builders.as_user(ctx, doc_user))
    login(client, doc_user.email, builders.PASSWORD)
    assert client.get(f"/patients/{patient.id}/comprehension").status_code == 200
    return doc_user, patient.id


def give_back(client: FlaskClient, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/handover/end").get_data(as_text=True)
    return client.post("/handover/end", data={"password": password,
                                              "csrf_token": csrf_token(page)})


def test_the_patient_holding_the_screen_reaches_no_other_page(ctx: Context,
                                                               client: FlaskClient) -> None:
    doc_user, patient_id = hand_over(ctx, client)
    other = builders.enrolled_patient(builders.as_user(ctx, doc_user), first="Sam").id
    for url in ("/worklist", f"/patients/{patient_id}", f"/patients/{other}/comprehension",
                "/account", "/settings"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/handover/end"), url
    assert client.get(f"/patients/{patient_id}/comprehension").status_code == 200
    assert "Hand the screen back" in client.get("/handover/end").get_data(as_text=True)


def test_the_clinic_takes_the_screen_back_with_its_password(ctx: Context,
                                                            client: FlaskClient) -> None:
    _, patient_id = hand_over(ctx, client)
    wrong = shown_again(client, give_back(client, "not the password"), "/handover/end")
    assert "the screen stays with the patient" in wrong.get_data(as_text=True)
    assert "not the password" not in wrong.get_data(as_text=True)
    assert client.get("/worklist").status_code == 302
    take_screen_back(client, builders.PASSWORD)
    assert client.get("/worklist").status_code == 200
    actions = ctx.session.scalars(select(AuditEvent.action)).all()
    assert "handover.end_refused" in actions and "handover.ended" in actions


def test_guessing_the_password_on_the_hand_back_page_signs_the_user_out(
    ctx: Context, client: FlaskClient
) -> None:
    hand_over(ctx, client)
    for _ in range(4):
        assert give_back(client, "guess").status_code == 303
    stopped = give_back(client, "guess")
    assert stopped.status_code == 302 and "/login" in stopped.headers["Location"]
    assert client.get("/worklist").status_code == 302  # signed out: to the sign-in page
    assert "/login" in client.get("/worklist").headers["Location"]
