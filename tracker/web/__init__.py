"""The browser side of the app: sign-in and the pages' blueprints."""

from __future__ import annotations

from flask import Flask, g, session
from flask_login import LoginManager, current_user

from tracker.http import requests
from tracker.http.access import permission_of
from tracker.http.sessions import DEACTIVATED_KEY, api_request
from tracker.models import User
from tracker.web import formatting, i18n, shown_again


def _load_user(user_id: str) -> object | None:
    from tracker.web.auth import LoginUser

    if not user_id.isdigit():
        return None
    user = requests.db_session().get(User, int(user_id))
    if user is None:
        return None
    if not user.active:
        # Deactivation ends every session of the user; should one still be live, it ends here
        # (clearing the user ends the row) and the sign-in page says why.
        session.clear()
        session[DEACTIVATED_KEY] = True
        return None
    return LoginUser(user)


def _nav_endpoints(app: Flask) -> frozenset[str]:
    """The endpoints the current user's role may open (for the navigation bar)."""
    user = g.get("user")
    if user is None:
        return frozenset()
    allowed = set()
    for endpoint, view in app.view_functions.items():
        permission = permission_of(view) or ""
        if user.role in permission.split(","):
            allowed.add(endpoint)
    return frozenset(allowed)


def install(app: Flask) -> None:
    formatting.install(app)
    i18n.install(app)
    login = LoginManager()
    login.session_protection = None  # sessions are server-side and rotated at login
    login.user_loader(_load_user)
    login.init_app(app)

    @app.before_request
    def _current_user() -> None:
        if api_request():
            return  # identified by its bearer token (tracker.api), never by the session
        g.user = current_user.user if current_user.is_authenticated else None

    shown_again.install(app)

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"current": g.get("user"), "nav_endpoints": _nav_endpoints(app)}

    from tracker.web import admin, audit_views, auth, pharmacy, portal, prescriber, reports

    app.register_blueprint(auth.bp)
    prescriber.register(app)
    pharmacy.register(app)
    admin.register(app)
    audit_views.register(app)
    portal.install(app)
    reports.register(app)
