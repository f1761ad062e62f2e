"""Only administrators reach the administration; everyone else is sent to sign in or refused."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import builders
from tests.conftest import login
from tests.web.admin.conftest import events, text_of
from tracker.services.context import Context

PAGES = ["/admin", "/admin/users", "/admin/users/new", "/admin/pharmacies",
         "/admin/pharmacies/new", "/admin/tokens"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["prescriber", "pharmacist"])
def test_other_roles_are_refused_and_the_refusal_is_audited(
    ctx: Context, client: FlaskClient, role: str
) -> None:
    user = builders.prescriber(ctx) if role == "prescriber" else builders.pharmacist(ctx)
    login(client, user.email, builders.PASSWORD)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert len([e for e in events(ctx, "access.denied") if e.actor_id == user.id]) == len(PAGES)


def test_every_administration_route_declares_the_admin_role(app: Flask) -> None:
    from tracker.http.access import permission_of

    admin_views = {e: v for e, v in app.view_functions.items() if e.startswith("admin.")}
    assert "admin.home" in admin_views
    assert all(permission_of(v) == "admin" for v in admin_views.values())
    counter_views = {e: v for e, v in app.view_functions.items() if e.startswith("pharmacy.")}
    assert {"pharmacy.lookup", "pharmacy.history"} <= set(counter_views)
    assert all(permission_of(v) == "pharmacist" for v in counter_views.values())


def test_administration_is_linked_in_the_navigation(browser: FlaskClient) -> None:
    page = text_of(browser.get("/admin"))
    assert '<a href="/admin">Administration</a>' in page
    assert "/pharmacy" not in page
