"""The endpoints of API.md. Views translate: parse the body, call one service, shape the
answer. Roles are checked from the operation's declaration; object-level checks are the
services' (another prescriber's patient answers 404)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from flask import abort, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from tracker.api import idempotency
from tracker.api.fields import (
    BIRTH_DATES,
    INT_MAX,
    PAST_DATES,
    RECORD_DATES,
    DateRange,
    Field,
    parse,
    parse_date,
)
from tracker.api.patterns import email_pattern
from tracker.api.registry import OPERATIONS, Operation
from tracker.api.shapes import (
    decision_json,
    dispense_json,
    patient_json,
    prescription_json,
    reason_json,
)
from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import PRIMARY_METHODS, SECONDARY_METHODS
from tracker.domain.policy import rule_sets
from tracker.http.bearer import bearer_token  # authenticates; signs where API.md asks
from tracker.http.errors import problem
from tracker.http.requests import context, db_session, writes_on_read
from tracker.services import (
    authorizations,
    dispenses,
    patients,
    portal_accounts,
    prescriptions,
    records,
    stored_reports,
    users,
)
from tracker.services.errors import Refused, ValidationFailed
from tracker.services.queries import program_report
from tracker.services.signing import BearerToken

PRESCRIBER = ("prescriber",)
# The prescriber and their office staff (API.md: staff act on the patients of the prescribers
# they work for, but never sign for them: those operations stay PRESCRIBER's).
CLINIC = ("prescriber", "staff")
PHARMACIST = ("pharmacist",)
METHODS = PRIMARY_METHODS + SECONDARY_METHODS
QUESTION_IDS = tuple(q.id for q in QUESTIONS)
BEFORE_BIRTH = "a date before the patient's birth date."
REUSED_KEY = ("an Idempotency-Key already used for this operation with another body (within "
              "the retention time).")
CONTRACEPTION_WORDS = ("RULES.md §6.2: two different methods, at least one of them primary ("
                       + ", ".join(PRIMARY_METHODS) + "), with `abstinence` false; or no method "
                       "with `abstinence` true.")
CATEGORY = Field("enum", choices=("can_get_pregnant", "cannot_get_pregnant"))
# The bounds every rule set gives a prescription (RULES.md §8), stated in the document; the
# service checks them with the rule book's own words.
DAYS_SUPPLY_MIN = min(p.days_supply_min for p in rule_sets())
DAYS_SUPPLY_MAX = max(p.days_supply_max for p in rule_sets())
REFILLS_MAX = max(p.refills_max for p in rule_sets())


def operation(method: str, path: str, summary: str, roles: tuple[str, ...], **kw: Any):  # type: ignore[no-untyped-def]
    """Declare a view as an API operation (routing, role check and document in one place)."""

    def decorate(view):  # type: ignore[no-untyped-def]
        OPERATIONS.append(Operation(method, path, summary, roles, view=view, **kw))
        return view

    return decorate


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json() -> Any:
    """The request body as JSON (RFC 8259), strictly: malformed JSON, NaN or Infinity, text
    that is not UTF-8 or nesting too deep to read answer 400."""
    try:
        text = request.get_data(cache=True).decode("utf-8")
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        abort(400)


def body(op_body: dict[str, Field]) -> dict[str, Any]:
    """Read and check the body against the operation's fields (422 naming each bad field)."""
    return parse(op_body, read_json())


def created(payload: Any, location: str | None = None) -> ResponseReturnValue:
    """A 201 answer, with the new resource's address when it has one to read it back."""
    headers = {"Location": location} if location else {}
    return jsonify(payload), 201, headers


# --- prescribers and patients ---------------------------------------------------------------

HOME_TESTING = {"home_testing_permitted": Field("bool", description=(
    "The prescriber attests to a process against misread or falsified home test results."))}


@operation("PATCH", "/prescribers/me", "Change the prescriber's home-testing permission",
           PRESCRIBER, body=HOME_TESTING, answer="Prescriber", errors=(422,))
def patch_prescriber() -> ResponseReturnValue:
    data = body(HOME_TESTING)
    user = users.set_home_testing(context(), data["home_testing_permitted"])
    return jsonify(prescriber_json(user))


def prescriber_json(user: Any) -> dict[str, Any]:
    """The prescriber's own settings, as PATCH /prescribers/me answers them."""
    return {"id": user.id, "name": user.name, "email": user.email, "npi": user.npi,
            "active": user.active, "home_testing_permitted": user.home_testing_permitted}


NEW_PATIENT = {
    "first_name": Field("string", max_length=100, name=True),
    "last_name": Field("string", max_length=100, name=True),
    "date_of_birth": Field("date", dates=BIRTH_DATES),
    "category": CATEGORY,
    "prescriber_npi": Field("string", required=False, nullable=True, max_length=10,
                            pattern="^[0-9]{10}$",
                            description="The prescriber the patient is registered with: "
                                        "needed when office staff work for several."),
}


@operation("POST", "/patients", "Register a patient", CLINIC, body=NEW_PATIENT,
           answer="Patient", status=201, errors=(422,),
           rules="`prescriber_npi` that is not the NPI of the caller (a prescriber) or of a "
                 "prescriber the caller works for (office staff); office staff who work for "
                 "several prescribers must send it.")
def create_patient() -> ResponseReturnValue:
    data = body(NEW_PATIENT)
    ctx = context()
    patient = patients.register_patient(ctx, data["first_name"], data["last_name"],
                                        data["date_of_birth"], data["category"],
                                        data.get("prescriber_npi"))
    return created(patient_json(patients.view(ctx, patient)), f"/api/v1/patients/{patient.id}")


@operation("GET", "/patients/{id}", "A patient", CLINIC, answer="Patient", errors=(404,))
def get_patient(id: int) -> ResponseReturnValue:
    ctx = context()
    return jsonify(patient_json(patients.view(ctx, patients.own_patient(ctx, id))))


CHANGE_PATIENT = {
    "category": Field("enum", required=False, choices=CATEGORY.choices,
                      description="A new category (needs a new acknowledgment)."),
    "reason": Field("string", required=False, nullable=True, multiline=True,
                    description="Why the category changes (kept in the audit trail)."),
    "email": Field("string", required=False, nullable=True, max_length=254,
                   pattern=email_pattern(),
                   description="The patient's email address for reminders (name@example.org, "
                               "as is: no spaces around it); null for none."),
    "language": Field("enum", required=False, choices=("en", "es"),
                      description="The language of the patient's reminders."),
    "reminders_opted_out": Field("bool", required=False,
                                 description="The patient does not want reminder emails."),
}
_REMINDER_FIELDS = ("email", "language", "reminders_opted_out")


@operation("PATCH", "/patients/{id}", "Change a patient's category (needs a new "
           "acknowledgment) or reminder settings", CLINIC, body=CHANGE_PATIENT,
           answer="Patient", errors=(404, 422),
           rules="the category the patient already has, a `reason` without a `category`, or a "
                 "body with none of the fields that can change.")
def patch_patient(id: int) -> ResponseReturnValue:
    data = body(CHANGE_PATIENT)
    if "reason" in data and "category" not in data:
        raise ValidationFailed({"reason": ["A reason goes with a change of category."]})
    if not any(name in data for name in ("category", *_REMINDER_FIELDS)):
        raise ValidationFailed({"body": [
            "Send at least one field to change: category, email, language or "
            "reminders_opted_out."]})
    if isinstance(data.get("email"), str) and not re.fullmatch(email_pattern(), data["email"]):
        raise ValidationFailed({"email": [
            "Enter a valid email address (name@example.org), or null for none."]})
    ctx = context()
    patient = patients.own_patient(ctx, id)
    settings = {name: data[name] for name in _REMINDER_FIELDS if name in data}
    if settings:
        patient = patients.change_reminders(
            ctx, id, email=settings.get("email", patients.UNCHANGED),
            language=settings.get("language", patients.UNCHANGED),
            opted_out=settings.get("reminders_opted_out", patients.UNCHANGED))
    if "category" in data:
        patient = patients.change_category(ctx, id, data["category"], data.get("reason"))
    return jsonify(patient_json(patients.view(ctx, patient)))


ACKNOWLEDGMENT = {
    "signed_on": Field("date", dates=RECORD_DATES),
    "patient_signature": Field("string", max_length=201, name=True,
                               description="The patient's full name as typed by the patient: "
                                           "the registered first and last name, case and "
                                           "spacing aside."),
    "guardian_signature": Field("string", required=False, nullable=True, max_length=100,
                                name=True, description="Needed when the patient is under 18 "
                                                       "on the signing date."),
    "guardian_relationship": Field("string", required=False, nullable=True, max_length=100,
                                   name=True, description="Needed with the guardian's "
                                                          "signature."),
}


@operation("POST", "/patients/{id}/acknowledgments", "Record the signed acknowledgment",
           PRESCRIBER, body=ACKNOWLEDGMENT, answer="Acknowledgment", status=201,
           errors=(404, 422),
           rules="a `patient_signature` that is not the patient's registered name (case and "
                 "spacing aside); a `signed_on` before the patient's birth date; no guardian's "
                 "signature and relationship when the patient is under 18 on `signed_on`.")
def post_acknowledgment(id: int) -> ResponseReturnValue:
    data = body(ACKNOWLEDGMENT)
    ack = patients.record_acknowledgment(
        context(), id, data["signed_on"], data["patient_signature"],
        data.get("guardian_signature"), data.get("guardian_relationship"),
        witness=BearerToken(bearer_token()))
    return created({"id": ack.id, "form_code": ack.form_code, "form_version": ack.form_version,
                    "category": ack.category, "signed_on": ack.signed_on.isoformat(),
                    "meaning": ack.meaning,
                    "signed_at": ack.signed_at.isoformat().replace("+00:00", "Z")})


COUNSELING = {"counseled_on": Field("date", dates=RECORD_DATES)}


@operation("POST", "/patients/{id}/counseling", "Record counseling", PRESCRIBER,
           body=COUNSELING, answer="Counseling", status=201, errors=(404, 422),
           rules=BEFORE_BIRTH)
def post_counseling(id: int) -> ResponseReturnValue:
    data = body(COUNSELING)
    row = records.record_counseling(context(), id, data["counseled_on"])
    return created({"id": row.id, "counseled_on": row.counseled_on.isoformat()})


PREGNANCY_TEST = {
    "collected_on": Field("date", dates=RECORD_DATES),
    "result": Field("enum", choices=("negative", "positive")),
    "setting": Field("enum", choices=("lab", "office", "home")),
}


@operation("POST", "/patients/{id}/pregnancy-tests", "Record a pregnancy test", CLINIC,
           body=PREGNANCY_TEST, answer="PregnancyTest", status=201, errors=(404, 422),
           rules=BEFORE_BIRTH)
def post_pregnancy_test(id: int) -> ResponseReturnValue:
    data = body(PREGNANCY_TEST)
    row = records.record_pregnancy_test(context(), id, data["collected_on"], data["result"],
                                        data["setting"])
    return created({"id": row.id, "collected_on": row.collected_on.isoformat(),
                    "result": row.result, "setting": row.setting})


CONTRACEPTION = {
    "recorded_on": Field("date", dates=RECORD_DATES),
    "started_on": Field("date", dates=RECORD_DATES,
                        description="Not after `recorded_on`."),
    "methods": Field("methods", choices=METHODS, primary=PRIMARY_METHODS,
                     abstinence_field="abstinence", description=CONTRACEPTION_WORDS),
    "abstinence": Field("bool"),
}


@operation("POST", "/patients/{id}/contraception", "Record contraception", CLINIC,
           body=CONTRACEPTION, answer="Contraception", status=201, errors=(404, 422),
           rules="a date before the patient's birth date; a `started_on` after "
                 "`recorded_on`.")
def post_contraception(id: int) -> ResponseReturnValue:
    data = body(CONTRACEPTION)
    row = records.record_contraception(context(), id, data["recorded_on"], data["started_on"],
                                       data["methods"], data["abstinence"])
    return created({"id": row.id, "recorded_on": row.recorded_on.isoformat(),
                    "started_on": row.started_on.isoformat(),
                    "methods": [m for m in row.methods.split(",") if m],
                    "abstinence": row.abstinence})


COMPREHENSION = {
    "completed_on": Field("date", dates=RECORD_DATES),
    "answers": Field("answers", choices=QUESTION_IDS),
    "contraception_methods": Field("methods", choices=METHODS, primary=PRIMARY_METHODS,
                                   abstinence_field="abstinence",
                                   description=CONTRACEPTION_WORDS),
    "abstinence": Field("bool"),
}


@operation("POST", "/patients/{id}/comprehension", "Record the patient's answers", CLINIC,
           body=COMPREHENSION, answer="Comprehension", status=201, errors=(404, 422),
           rules=BEFORE_BIRTH)
def post_comprehension(id: int) -> ResponseReturnValue:
    data = body(COMPREHENSION)
    row = records.record_comprehension(context(), id, data["completed_on"], data["answers"],
                                       data["contraception_methods"], data["abstinence"])
    return created({"id": row.id, "passed": row.passed,
                    "wrong": [w for w in row.wrong.split(",") if w]})


@operation("GET", "/comprehension/questions", "The comprehension questions", CLINIC,
           answer="Question", answer_list=True)
def get_questions() -> ResponseReturnValue:
    return jsonify([{"id": q.id, "statement": q.statement} for q in QUESTIONS])


COURSE_END = {"last_dose_on": Field("date", dates=RECORD_DATES)}


@operation("POST", "/patients/{id}/course-end", "End the course (last dose)", CLINIC,
           body=COURSE_END, answer="Patient", errors=(404, 422),
           rules="a date before the patient's birth date; a patient with no course under way "
                 "(not enrolled, or the course already ended).")
def post_course_end(id: int) -> ResponseReturnValue:
    data = body(COURSE_END)
    ctx = context()
    patient = patients.end_course(ctx, id, data["last_dose_on"])
    return jsonify(patient_json(patients.view(ctx, patient)))


@operation("POST", "/patients/{id}/portal-invitations",
           "Invite the patient to their own portal account (single use, 7 days)", CLINIC,
           answer="PortalInvitation", status=201, errors=(404, 422), optional_body=True)
def post_portal_invitation(id: int) -> ResponseReturnValue:
    if request.get_data():
        parse({}, read_json())  # `{}`: any field is unknown (422)
    invitation = portal_accounts.issue_invitation(context(), id)
    return created({"url": url_for("portal.join", code=invitation.code, _external=True),
                    "code": invitation.code,
                    "expires_at": invitation.expires_at.isoformat()})


# --- prescriptions ---------------------------------------------------------------------------

NEW_PRESCRIPTION = {
    "patient_id": Field("int", minimum=1, maximum=INT_MAX),
    "written_on": Field("date", dates=RECORD_DATES),
    "days_supply": Field("int", minimum=DAYS_SUPPLY_MIN, maximum=DAYS_SUPPLY_MAX,
                         enforce_range=False),
    "quantity": Field("int", minimum=1, maximum=prescriptions.QUANTITY_MAX),
    "refills": Field("int", minimum=0, maximum=REFILLS_MAX, enforce_range=False),
}


def _rx_json(rx: Any) -> dict[str, Any]:
    return prescription_json(rx, prescriptions.current_authorization(context(), rx.id))


@operation("POST", "/prescriptions", "Write a prescription", CLINIC, body=NEW_PRESCRIPTION,
           answer="Prescription", status=201, errors=(404, 422), rules=BEFORE_BIRTH)
def create_prescription() -> ResponseReturnValue:
    data = body(NEW_PRESCRIPTION)
    rx = prescriptions.write_prescription(context(), data["patient_id"], data["written_on"],
                                          data["days_supply"], data["quantity"],
                                          data.get("refills", 0))
    return created(prescription_json(rx, None), f"/api/v1/prescriptions/{rx.id}")


@operation("GET", "/prescriptions/{id}", "A prescription", CLINIC, answer="Prescription",
           errors=(404,))
def get_prescription(id: int) -> ResponseReturnValue:
    return jsonify(_rx_json(prescriptions.own_prescription(context(), id)))


@operation("GET", "/prescriptions/{id}/eligibility",
           "Whether the prescription can be marked dispensable (nothing is written)",
           CLINIC, answer="Decision", errors=(404, 422),
           query={"as_of": {"required": False,
                            "description": "Evaluate as of this program date (default today): "
                                           "today or a past day since the first rule set; only "
                                           "records dated on or before it count.",
                            "schema": Field("date", dates=DateRange(from_first_rule_set=True))}})
def get_eligibility(id: int) -> ResponseReturnValue:
    as_of = _as_of(request.args["as_of"]) if "as_of" in request.args else None
    return jsonify(decision_json(prescriptions.eligibility(context(), id, as_of)))


def _as_of(value: str) -> date:
    """An evaluation date the rule book speaks of (RULES.md §1-2): today or a past day on which
    a rule set was in force."""
    ctx = context()
    first = min(policy.in_force_from for policy in ctx.rule_sets)
    today = ctx.today()
    on = parse_date(value)
    if on is None or not first <= on <= today:
        raise ValidationFailed({"as_of": [
            f"Give a date as YYYY-MM-DD from {first.isoformat()} (the first rule set) to "
            f"today, {today.isoformat()}."]})
    return on


def _idempotent(view_result: Any, sent: Any) -> ResponseReturnValue:
    """Run a write under the request's Idempotency-Key, if it has one; `sent` is the parsed
    body the key is bound to."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, payload = view_result()
        return _answer(status, payload)
    claimed = idempotency.claim(db_session(), g.user.id, key, sent)
    if not isinstance(claimed, idempotency.Claim):
        return claimed
    status, payload = view_result()
    idempotency.remember(db_session(), claimed, status, payload)
    return _answer(status, payload)


def _answer(status: int, payload: dict[str, Any]) -> ResponseReturnValue:
    if status >= 400:
        return problem(status, payload["detail"], unmet=payload["unmet"])
    return jsonify(payload), status


def _refusal(exc: Refused) -> tuple[int, dict[str, Any]]:
    return 409, {"type": "about:blank", "title": "Refused", "status": 409, "detail": str(exc),
                 "unmet": [reason_json(r) for r in exc.decision.unmet]}


@operation("POST", "/prescriptions/{id}/authorize", "Mark the prescription dispensable",
           PRESCRIBER, answer="Prescription", errors=(404, 409, 422), idempotent=True,
           optional_body=True, conflict_example="PATIENT_NOT_ENROLLED",
           rules=REUSED_KEY)
def post_authorize(id: int) -> ResponseReturnValue:
    sent = parse({}, read_json()) if request.get_data() else {}

    def run() -> tuple[int, dict[str, Any]]:
        ctx = context()
        try:
            auth = authorizations.authorize(ctx, id, signature=BearerToken(bearer_token()))
        except Refused as exc:
            return _refusal(exc)
        rx = prescriptions.own_prescription(ctx, id)
        return 200, prescription_json(rx, auth)

    return _idempotent(run, sent)


REVERSE = {"reason": Field("string", max_length=authorizations.REASON_MAX, multiline=True,
                           description="Why: wrong entry, not picked up, ..."),
           "date_of_birth": Field("date", required=False, dates=PAST_DATES,
                                  description="The patient's birth date. Pharmacy staff must "
                                              "send it (404 when it does not match the "
                                              "authorization, as at the lookup); a prescriber "
                                              "may omit it.")}


@operation("POST", "/authorizations/{number}/reverse", "Reverse an undispensed authorization",
           ("prescriber", "pharmacist"), body=REVERSE, answer="Prescription",
           errors=(404, 409, 422, 429), conflict_example="ALREADY_DISPENSED",
           rules="no `date_of_birth` from pharmacy staff (a prescriber may omit it).")
def post_reverse(number: str) -> ResponseReturnValue:
    data = body(REVERSE)
    ctx = context()
    rx = authorizations.reverse(ctx, number, data["reason"], data.get("date_of_birth"))
    return jsonify(prescription_json(rx, None))


@operation("GET", "/authorizations/{number}", "Look an authorization up at the pharmacy",
           PHARMACIST, answer="Lookup", errors=(404, 422, 429),
           query={"date_of_birth": {"required": True,
                                    "description": "The patient's birth date; it must match "
                                                   "the authorization's patient (else 404).",
                                    "schema": Field("date", dates=PAST_DATES)}})
@writes_on_read
def get_authorization(number: str) -> ResponseReturnValue:
    born = parse_date(request.args.get("date_of_birth"))
    if born is None:
        raise ValidationFailed({"date_of_birth": ["Give the patient's birth date as YYYY-MM-DD."]})
    found = dispenses.lookup(context(), number, born)
    return jsonify({
        "prescription": prescription_json(found.prescription, found.authorization),
        "patient": {"first_name": found.patient.first_name,
                    "last_name": found.patient.last_name,
                    "date_of_birth": found.patient.date_of_birth.isoformat()},
        "decision": decision_json(found.decision),
    })


DISPENSE = {
    "authorization_number": Field("string", max_length=20),
    # Checked by the service against the prescription, which it names in its message.
    "quantity": Field("int", minimum=1, maximum=prescriptions.QUANTITY_MAX, enforce_range=False),
    "days_supply": Field("int", minimum=DAYS_SUPPLY_MIN, maximum=DAYS_SUPPLY_MAX,
                         enforce_range=False),
    "medication_guide_given": Field("bool", true_only=True, description=(
        "The Medication Guide was handed to the patient; must be true.")),
}


@operation("POST", "/prescriptions/{id}/dispense", "Record the dispense (at most once)",
           PHARMACIST, body=DISPENSE, answer="Dispense", status=201, errors=(404, 409, 422),
           idempotent=True, conflict_example="ALREADY_DISPENSED",
           rules="a `quantity` or `days_supply` above the prescription's; " + REUSED_KEY)
def post_dispense(id: int) -> ResponseReturnValue:
    data_sent = read_json()
    data = parse(DISPENSE, data_sent)

    def run() -> tuple[int, dict[str, Any]]:
        try:
            row = dispenses.dispense(context(), id, data["authorization_number"],
                                     data["quantity"], data["days_supply"],
                                     data["medication_guide_given"])
        except Refused as exc:
            return _refusal(exc)
        return 201, dispense_json(row, data["authorization_number"].strip().upper())

    return _idempotent(run, data_sent)


# --- program reports ------------------------------------------------------------------------

READERS = ("admin", "auditor")
_PERIOD_DAY = Field("date", dates=DateRange(from_first_rule_set=True))


@operation("GET", "/reports/summary", "The program report's headline numbers for a period",
           READERS, answer="ReportSummary", errors=(422,),
           rules="a `from` after `to`, a period longer than seven years, or a `rule_set` not in "
                 "force during the period.",
           query={"from": {"required": False, "schema": _PERIOD_DAY,
                           "description": "First day, a program date (default: the first "
                                          "day of the month eleven months before `to`)."},
                  "to": {"required": False, "schema": _PERIOD_DAY,
                         "description": "Last day, a program date, today at the latest "
                                        "(default: today). At most seven years after `from`."},
                  "rule_set": {"required": False,
                               "schema": {"type": "string",
                                          "enum": [p.id for p in rule_sets()]},
                               "description": "Only the days this rule set was in force."},
                  "live": {"required": False, "schema": {"type": "boolean"},
                           "description": "`true`: count the report now, even when a report "
                                          "stored by the nightly refresh is there (default "
                                          "`false`: the stored one is answered when it was "
                                          "counted for exactly this period and rule set as "
                                          "of today)."}})
def get_report_summary() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        value = request.args.get(name)
        days[name] = parse_date(value) if value is not None else None
        if value is not None and days[name] is None:
            errors[name] = ["Give a date as YYYY-MM-DD."]
    if request.args.get("rule_set") == "":  # the pages' "every rule set"; here: leave it out
        errors["rule_set"] = ["Choose one of " + ", ".join(p.id for p in rule_sets()) +
                              ", or leave the parameter out for every rule set."]
    live = request.args.get("live", "false")
    if live not in ("true", "false"):
        errors["live"] = ["Give true or false."]
    if errors:
        raise ValidationFailed(errors)
    ctx = context()
    period = program_report.choose_period(ctx, days["from"], days["to"],
                                          request.args.get("rule_set") or None)
    served = stored_reports.serve(ctx, period, live=live == "true")
    changes = served.changes_since
    return jsonify(served.report.summary() | {
        "stored": served.stored,
        "counted_at": served.counted_at.isoformat().replace("+00:00", "Z"),
        "changes_since": None if changes is None else min(
            changes, stored_reports.CHANGES_COUNTED_UP_TO),
        "changes_since_capped": served.changes_beyond_count,
    })
