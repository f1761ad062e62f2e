"""A small world for API tests: the five roles (the staff member works for the prescriber; the
patient is one of the prescriber's patients, with their own portal account),
patients in useful states, and for every operation of API.md a request that succeeds when the
right person sends it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tests import builders as b
from tests.builders import SIGNED
from tracker.models import ApiToken, AuditEvent, Patient, Prescription, User
from tracker.services import authorizations, tokens
from tracker.services.context import Context

PREFIX = "/api/v1"
ROLES = ("admin", "prescriber", "pharmacist", "staff", "auditor", "patient")
UNAUTHENTICATED = ("no token", "bad token", "revoked token", "deactivated user")
BAD_TOKEN = "trk_" + "x" * 43  # shaped like a token, issued to nobody


def days(n: int, on: date) -> str:
    return (on + timedelta(days=n)).isoformat()


class World:
    """Who and what the API tests act on, each built when first used. `patient` is ready for
    a first fill today and has a pending prescription `rx`; `authorized_rx` (of `authorized`)
    carries the open authorization `number`; `foreign` and `foreign_rx` (with its open
    authorization `foreign_number`) belong to another prescriber."""

    def __init__(self, app: Flask, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx
        self.today: date = ctx.today()
        self.tokens: dict[str, str] = {}

    @cached_property
    def prescriber(self) -> User:
        return b.prescriber(self.ctx)

    @cached_property
    def other_prescriber(self) -> User:
        return b.prescriber(self.ctx, name="Olive Other")

    @cached_property
    def pharmacist(self) -> User:
        return b.pharmacist(self.ctx)

    @cached_property
    def staff(self) -> User:
        return b.staff(self.ctx, self.prescriber)

    @cached_property
    def other_staff(self) -> User:
        return b.staff(self.ctx, self.other_prescriber, name="Odie Otherstaff")

    @cached_property
    def admin(self) -> User:
        return b.admin(self.ctx)

    @cached_property
    def patient_user(self) -> User:
        """The portal account of `authorized` (a patient with an open authorization): a
        patient's own account reaches no API operation (403), not even on their own record."""
        return b.patient_account(self.acting(self.prescriber), self.authorized.id)

    @cached_property
    def auditor(self) -> User:
        return b.auditor(self.ctx)

    def acting(self, user: User) -> Context:
        return b.as_user(self.ctx, user)

    @cached_property
    def patient(self) -> Patient:
        return b.ready_for_first_fill(self.acting(self.prescriber), first="Alex", last="Rivera",
                                      born=date(1995, 4, 2))

    @cached_property
    def rx(self) -> Prescription:
        return b.prescription(self.acting(self.prescriber), self.patient.id)

    @cached_property
    def authorized(self) -> Patient:
        return b.ready_for_first_fill(self.acting(self.prescriber), first="Blair", last="Chen",
                                      born=date(1990, 6, 9))

    @cached_property
    def _authorized_fill(self) -> tuple[Prescription, str]:
        doc = self.acting(self.prescriber)
        rx = b.prescription(doc, self.authorized.id)
        return rx, authorizations.authorize(doc, rx.id, signature=SIGNED).number

    @property
    def authorized_rx(self) -> Prescription:
        return self._authorized_fill[0]

    @property
    def number(self) -> str:
        return self._authorized_fill[1]

    @cached_property
    def foreign(self) -> Patient:
        return b.ready_for_first_fill(self.acting(self.other_prescriber), first="Casey",
                                      last="Moss", born=date(1988, 1, 20))

    @cached_property
    def _foreign_fill(self) -> tuple[Prescription, str]:
        doc = self.acting(self.other_prescriber)
        rx = b.prescription(doc, self.foreign.id)
        return rx, authorizations.authorize(doc, rx.id, signature=SIGNED).number

    @property
    def foreign_rx(self) -> Prescription:
        return self._foreign_fill[0]

    @property
    def foreign_number(self) -> str:
        return self._foreign_fill[1]

    def send(self, who: str | None, method: str, path: str, **kw: Any) -> TestResponse:
        """Call the API as `who` (a role, a token kind of UNAUTHENTICATED, or None)."""
        headers = dict(kw.pop("headers", {}))
        token = self.token_for(who)
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        client = self.app.test_client()
        return client.open(PREFIX + path, method=method.upper(), headers=headers, **kw)

    def token_for(self, who: str | None) -> str | None:
        if who in (None, "no token"):
            return None
        if who == "bad token":
            return BAD_TOKEN
        if who not in self.tokens:
            self.tokens[who] = self._issue(who)
        return self.tokens[who]

    def _issue(self, who: str) -> str:
        if who == "revoked token":
            token = tokens.create_token(self.ctx, self.prescriber)
            tokens.revoke_token(self.ctx, self._token_id(token))
            return token
        if who == "deactivated user":
            user = b.prescriber(self.ctx, name="Gone Away")
            token = tokens.create_token(self.ctx, user)
            user.active = False
            self.ctx.session.flush()
            return token
        if who == "patient":  # built only when asked for: it registers a patient
            # Nothing issues a patient a token any more; one written straight into the table
            # (as a restored backup or an older release could hold) must still reach nothing.
            token = tokens.TOKEN_PREFIX + "patient-" + "x" * 32
            self.ctx.session.add(ApiToken(user_id=self.patient_user.id, prefix=token[:10],
                                          token_hash=tokens.token_hash(token)))
            self.ctx.session.flush()
            return token
        user = {"admin": self.admin, "auditor": self.auditor, "prescriber": self.prescriber,
                "pharmacist": self.pharmacist, "staff": self.staff,
                "other prescriber": self.other_prescriber,
                "other staff": self.other_staff}[who]
        return tokens.create_token(self.ctx, user)

    def _token_id(self, token: str) -> int:
        row = self.ctx.session.scalar(
            select(ApiToken).where(ApiToken.token_hash == tokens.token_hash(token)))
        assert row is not None
        return row.id

    def audit_count(self) -> int:
        return self.ctx.session.scalar(select(func.count()).select_from(AuditEvent)) or 0

    def count(self, model: Any) -> int:
        return self.ctx.session.scalar(select(func.count()).select_from(model)) or 0


def build_world(app: Flask, ctx: Context) -> World:
    return World(app, ctx)


Request = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments of the client


def valid_request(endpoint: str, w: World) -> Request:
    """A request to `endpoint` that succeeds for a role the operation admits."""
    today = w.today

    def of_patient(tail: str) -> str:
        return f"/patients/{w.patient.id}{tail}"

    requests: dict[str, Callable[[], Request]] = {
        "patch_prescriber": lambda: ("PATCH", "/prescribers/me",
                                     {"json": {"home_testing_permitted": True}}),
        "create_patient": lambda: ("POST", "/patients", {"json": {
            "first_name": "Dana", "last_name": "Lee", "date_of_birth": "2001-02-03",
            "category": "can_get_pregnant"}}),
        "get_patient": lambda: ("GET", f"/patients/{w.patient.id}", {}),
        "patch_patient": lambda: ("PATCH", f"/patients/{w.patient.id}",
                                  {"json": {"category": "cannot_get_pregnant",
                                            "reason": "Hysterectomy in 2025"}}),
        "post_acknowledgment": lambda: ("POST", of_patient("/acknowledgments"), {"json": {
            "signed_on": today.isoformat(), "patient_signature": "alex  rivera"}}),
        "post_counseling": lambda: ("POST", f"/patients/{w.patient.id}/counseling",
                                    {"json": {"counseled_on": today.isoformat()}}),
        "post_pregnancy_test": lambda: ("POST", of_patient("/pregnancy-tests"), {"json": {
            "collected_on": today.isoformat(), "result": "negative", "setting": "lab"}}),
        "post_contraception": lambda: ("POST", of_patient("/contraception"), {"json": {
            "recorded_on": today.isoformat(), "started_on": days(-45, today),
            "methods": ["combined_pill", "male_condom"], "abstinence": False}}),
        "post_comprehension": lambda: ("POST", f"/patients/{w.patient.id}/comprehension", {"json": {
            "completed_on": today.isoformat(), "answers": dict(b.ANSWERS),
            "contraception_methods": ["iud", "male_condom"], "abstinence": False}}),
        "get_questions": lambda: ("GET", "/comprehension/questions", {}),
        "post_portal_invitation": lambda: ("POST", of_patient("/portal-invitations"),
                                           {"json": {}}),
        "get_report_summary": lambda: ("GET", "/reports/summary", {"query_string": {
            "from": days(-30, today), "to": today.isoformat()}}),
        "post_course_end": lambda: ("POST", f"/patients/{w.patient.id}/course-end",
                                    {"json": {"last_dose_on": today.isoformat()}}),
        "create_prescription": lambda: ("POST", "/prescriptions", {"json": {
            "patient_id": w.patient.id, "written_on": today.isoformat(), "days_supply": 30,
            "quantity": 60, "refills": 0}}),
        "get_prescription": lambda: ("GET", f"/prescriptions/{w.rx.id}", {}),
        "get_eligibility": lambda: ("GET", f"/prescriptions/{w.rx.id}/eligibility", {}),
        "post_authorize": lambda: ("POST", f"/prescriptions/{w.rx.id}/authorize", {}),
        "get_authorization": lambda: ("GET", f"/authorizations/{w.number}",
                                      {"query_string": {"date_of_birth": "1990-06-09"}}),
        "post_reverse": lambda: ("POST", f"/authorizations/{w.number}/reverse",
                                 {"json": {"reason": "Not picked up",
                                           "date_of_birth": "1990-06-09"}}),
        "post_dispense": lambda: ("POST", f"/prescriptions/{w.authorized_rx.id}/dispense",
                                  {"json": {"authorization_number": w.number, "quantity": 30,
                                            "days_supply": 30,
                                            "medication_guide_given": True}}),
    }
    return requests[endpoint]()


def is_problem(response: TestResponse, status: int) -> bool:
    """An RFC 9457 problem document with this status."""
    body = response.get_json(silent=True) or {}
    return (response.status_code == status
            and response.mimetype == "application/problem+json"
            and body.get("status") == status
            and {"type", "title", "detail"} <= set(body))
