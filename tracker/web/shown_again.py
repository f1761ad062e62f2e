"""Post/Redirect/Get for a form that was not accepted. The POST never answers with the form
itself (Back or Reload would then offer to send it again): what was typed (never the CSRF token
or a password, see tracker.services.drafts.keeps), the error messages and a few notes for the
page are kept in the server-side session, and the browser is sent by a 303 to the page that
shows the form, where a GET fills it in, once, with the values and the messages. Nothing
clinical goes to the browser, and nothing is recorded until the form is sent again.

Only the form of the same class takes the values: a page with several forms (the prescription's
reverse and mark-dispensable forms, an admin's user page) shows the errors on the right one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, redirect, request, session
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from tracker.services import drafts

KEY = "_form_shown_again"


def _name(form_class: type) -> str:
    # The module too: the prescriber's and the pharmacy's ReverseForm are different forms.
    return f"{form_class.__module__}.{form_class.__qualname__}"


def show_again(form: FlaskForm, page: str, **notes: Any) -> Response:
    """Send the browser to `page` (a path on this site, with its query string if any), where
    `form` is shown again with what was typed and its errors, and the page may read `notes`
    (JSON values) through `notes()`. The caller has already rolled back whatever the request
    must not keep."""
    errors = {name: [str(message) for message in field.errors]
              for name, field in form._fields.items() if field.errors}
    path = urlsplit(page).path
    if request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root):]  # as request.path names it (served under a prefix)
    session[KEY] = {
        "path": path,
        "form": _name(type(form)),
        "fields": [[name, value] for name, value in request.form.items(multi=True)
                   if drafts.keeps(name)],
        "errors": errors,
        "form_errors": [str(message) for message in getattr(form, "form_errors", [])],
        "notes": notes,
    }
    return redirect(page, 303)


def _take() -> None:
    """On the GET of the page the form was sent back to: take what was kept (shown once). The
    next page opened is that page (the 303 leads there); should it be another, what was kept
    is dropped, so an old form never turns up filled in later."""
    if (KEY not in session or request.method != "GET" or g.get("user") is None
            or request.endpoint == "static"):
        return
    kept = session.pop(KEY)
    if kept.get("path") == request.path:
        g.shown_again = kept


def notes() -> dict[str, Any]:
    """The notes the page was sent back with (empty when it was opened afresh)."""
    kept = g.get("shown_again")
    return dict(kept["notes"]) if kept else {}


class ShownAgainForm(FlaskForm):
    """A form that, on the page it was sent back to, is filled in with what was typed and shows
    the messages it was refused with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kept = g.get("shown_again") if request.method == "GET" else None
        mine = kept is not None and kept["form"] == _name(type(self))
        if mine:
            assert kept is not None
            typed = MultiDict([(name, value) for name, value in kept["fields"]])
            if args:  # the form data given by position
                args = (typed, *args[1:])
            else:
                kwargs["formdata"] = typed
        super().__init__(*args, **kwargs)
        if mine:
            assert kept is not None
            for name, field in self._fields.items():
                field.errors = list(kept["errors"].get(name, []))
            self.form_errors = list(kept["form_errors"])


def install(app: Flask) -> None:
    """After the signed-in user is known (tracker.web.install)."""
    app.before_request(_take)
