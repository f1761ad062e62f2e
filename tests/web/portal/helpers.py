"""Shared steps of the portal tests: the clinic's invitation, the patient's sign-in."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests import builders
from tests.conftest import csrf_token

PASSPHRASE = "my own long passphrase"  # what the patients of these tests choose


def portal_login(client: FlaskClient, email: str, password: str = builders.PASSWORD) -> None:
    """Sign in through the patient's sign-in page, CSRF token included."""
    page = client.get("/portal/login").get_data(as_text=True)
    response = client.post("/portal/login", data={"email": email, "password": password,
                                                  "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith("/portal")


def join(client: FlaskClient, code: str, born: str, email: str = "alex@example.test",
         password: str = PASSPHRASE, **kw: object):  # type: ignore[no-untyped-def]
    """Open the invitation's link and send the set-up form."""
    page = client.get(f"/portal/join?code={code}", **kw).get_data(as_text=True)  # type: ignore[arg-type]
    return client.post("/portal/join", data={
        "code": code, "date_of_birth": born, "email": email, "password": password,
        "csrf_token": csrf_token(page)}, **kw)  # type: ignore[arg-type]
