"""FHIR R4 (US Medication REMS `$rems-etasu`) and CDS Hooks, on the same services as the pages
and the JSON API. It shares the HTTP plumbing (tracker.http) and imports neither tracker.web
nor tracker.api."""

from __future__ import annotations

from flask import Flask

from tracker.fhir import cds, etasu
from tracker.fhir.outcome import error_answer
from tracker.http import csrf
from tracker.http.errors import answer_errors_under

FHIR_PREFIXES = ("/fhir/", "/4_0_0/", "/cds-services")


def register(app: Flask) -> None:
    """Mount FHIR and CDS Hooks: no CSRF token (they never read the session cookie), CORS for
    the configured origins, errors as OperationOutcome."""
    for bp in (etasu.bp, cds.bp):
        csrf.exempt(bp)
        app.register_blueprint(bp)
    answer_errors_under(app, FHIR_PREFIXES, error_answer)
