"""Registering patients, their category, the signed acknowledgment and the end of a course."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tracker.domain.enrollment import enrollment_status
from tracker.domain.facts import Category
from tracker.domain.validation import clinical_date_error, needs_guardian, signature_matches
from tracker.models import Acknowledgment, CategoryChange, CourseEnd, Patient
from tracker.models.patient import LANGUAGES
from tracker.services import text
from tracker.services.audit import record_event
from tracker.services.care_team import (
    prescriber_for_new_patient,
    prescribers_in_reach,
    require_signer,
)
from tracker.services.codes import new_program_number
from tracker.services.consent_forms import current_form
from tracker.services.context import Context
from tracker.services.errors import (
    NotFound,
    ValidationFailed,
    require,
)
from tracker.services.facts import load_patient_facts
from tracker.services.signatures import sign
from tracker.services.signing import SignerProof, proves_signer, rejected_signature
from tracker.services.text import has_control_characters

NAME_MAX = 100
UNCHANGED = object()  # a field the caller does not change


@dataclass(frozen=True)
class PatientView:
    """A patient with what their records say on the program date."""

    patient: Patient
    enrolled: bool
    course_ended_on: date | None


def own_patient(ctx: Context, patient_id: int) -> Patient:
    """The patient, if the acting user works on it (the prescriber's own patient, or one of a
    prescriber their staff member works for: care_team); otherwise NotFound (another
    prescriber's patient is not revealed to exist)."""
    in_reach = prescribers_in_reach(ctx)
    patient = ctx.session.get(Patient, patient_id)
    if patient is None or patient.prescriber_id not in in_reach:
        raise NotFound("no such patient")
    return patient


def check_name(errors: dict[str, list[str]], field: str, value: str, label: str) -> str:
    if problem := text.name_problem(value, multiline=True):
        errors.setdefault(field, []).append(problem)
        return ""
    value = " ".join((value or "").split())
    if not value:
        errors.setdefault(field, []).append(f"Enter the {label}.")
    elif len(value) > NAME_MAX:
        errors.setdefault(field, []).append(f"The {label} has at most {NAME_MAX} characters.")
    return value


def check_clinical_date(errors: dict[str, list[str]], field: str, value: date | None,
                        today: date, birth: date | None) -> None:
    if value is None:
        errors.setdefault(field, []).append("Enter a date (YYYY-MM-DD).")
        return
    problem = clinical_date_error(value, today, birth)
    if problem:
        errors.setdefault(field, []).append(problem)


CATEGORY_MESSAGE = "Choose whether the patient can or cannot get pregnant."


def check_category(errors: dict[str, list[str]], value: str | None,
                   message: str = CATEGORY_MESSAGE) -> Category | None:
    """The category, or None with `message` (a file format names its own spelling)."""
    try:
        if value is not None:
            return Category(value)
    except ValueError:
        pass
    errors.setdefault("category", []).append(message)
    return None


def check_birth_date(errors: dict[str, list[str]], date_of_birth: date | None,
                     today: date) -> None:
    if date_of_birth is None:
        errors.setdefault("date_of_birth", []).append("Enter the birth date (YYYY-MM-DD).")
    elif date_of_birth > today:
        errors.setdefault("date_of_birth", []).append("The birth date cannot be in the future.")
    elif date_of_birth.year < 1900:
        errors.setdefault("date_of_birth", []).append("The birth date must be after 1900.")


def register_patient(ctx: Context, first_name: str, last_name: str, date_of_birth: date | None,
                     category: str, prescriber_npi: str | None = None) -> Patient:
    """A new patient of the acting prescriber, or, entered by their staff, of the prescriber
    named by `prescriber_npi` (needed when the staff member works for several)."""
    errors: dict[str, list[str]] = {}
    try:
        prescriber = prescriber_for_new_patient(ctx, prescriber_npi)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    first = check_name(errors, "first_name", first_name, "first name")
    last = check_name(errors, "last_name", last_name, "last name")
    today = ctx.today()
    check_birth_date(errors, date_of_birth, today)
    cat = check_category(errors, category)
    require(errors)
    assert cat is not None and date_of_birth is not None
    patient = Patient(prescriber_id=prescriber.id, first_name=first, last_name=last,
                      date_of_birth=date_of_birth, category=cat, created_by=ctx.actor.user_id,
                      program_number=new_program_number())
    ctx.session.add(patient)
    ctx.session.flush()
    ctx.session.add(CategoryChange(patient_id=patient.id, category=cat, changed_on=today,
                                   changed_by=ctx.actor.user_id, changed_at=ctx.now()))
    record_event(ctx, "patient.registered", "patient", patient.id, patient_id=patient.id,
                 new={"first_name": first, "last_name": last, "date_of_birth": date_of_birth,
                      "category": cat})
    return patient


def view(ctx: Context, patient: Patient) -> PatientView:
    status = enrollment_status(load_patient_facts(ctx.session, patient), ctx.today())
    return PatientView(patient, status.enrolled, status.course_ended_on)


def change_category(ctx: Context, patient_id: int, category: str,
                    reason: str | None = None) -> Patient:
    """A new category needs a new acknowledgment for it (RULES.md §4)."""
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    cat = check_category(errors, category)
    if has_control_characters(reason, multiline=True):
        errors.setdefault("reason", []).append(text.MESSAGE)
    if cat is not None and cat == patient.category:
        errors.setdefault("category", []).append("The patient already has this category.")
    require(errors)
    assert cat is not None
    old = patient.category
    patient.category = cat
    ctx.session.add(CategoryChange(patient_id=patient.id, category=cat,
                                   changed_on=ctx.today(), changed_by=ctx.actor.user_id,
                                   changed_at=ctx.now(), reason=reason))
    ctx.session.flush()
    record_event(ctx, "patient.category_changed", "patient", patient.id, patient_id=patient.id,
                 old={"category": old}, new={"category": cat}, reason=reason)
    return patient


def acknowledgment_fields(ack: Acknowledgment) -> dict[str, object]:
    """What the e-signature of an acknowledgment covers."""
    return {
        "id": ack.id, "patient_id": ack.patient_id, "category": ack.category,
        "form_code": ack.form_code, "form_version": ack.form_version,
        "signed_on": ack.signed_on, "patient_signature": ack.patient_signature,
        "guardian_signature": ack.guardian_signature,
        "guardian_relationship": ack.guardian_relationship, "meaning": ack.meaning,
        "witness_id": ack.witness_id,
        "signed_at": ack.signed_at.isoformat(timespec="microseconds"),
    }


def check_acknowledgment(errors: dict[str, list[str]], first_name: str, last_name: str,
                         date_of_birth: date, signed_on: date | None, patient_signature: str,
                         guardian_signature: str | None, guardian_relationship: str | None,
                         today: date) -> tuple[str, str | None, str | None]:
    """RULES.md §4: the signing date, the typed name matching the registered one, and a
    guardian's signature under 18. Collects problems in `errors`; returns the signature, the
    guardian's name and relationship as they are stored (spacing normalized)."""
    check_clinical_date(errors, "signed_on", signed_on, today, date_of_birth)
    typed = " ".join((patient_signature or "").split())
    if problem := text.name_problem(patient_signature, multiline=True):
        errors.setdefault("patient_signature", []).append(problem)
    elif not typed:
        errors.setdefault("patient_signature", []).append(
            "The patient types their full name to sign.")
    elif len(typed) > 2 * NAME_MAX + 1:
        errors.setdefault("patient_signature", []).append("The signature is too long.")
    elif not signature_matches(typed, first_name, last_name):
        errors.setdefault("patient_signature", []).append(
            f"The typed name must match the registered name "
            f"'{first_name} {last_name}'.")
    guardian = " ".join((guardian_signature or "").split()) or None
    relationship = " ".join((guardian_relationship or "").split()) or None
    if signed_on is not None and not errors.get("signed_on") and needs_guardian(
        date_of_birth, signed_on
    ):
        if not guardian:
            errors.setdefault("guardian_signature", []).append(
                "The patient is under 18 on the signing date: a parent or guardian signs too.")
        if not relationship:
            errors.setdefault("guardian_relationship", []).append(
                "Give the guardian's relationship to the patient (e.g. mother, legal guardian).")
    for field, value in (("guardian_signature", guardian),
                         ("guardian_relationship", relationship)):
        if problem := text.name_problem(value):
            errors.setdefault(field, []).append(problem)
        elif value and len(value) > NAME_MAX:
            errors.setdefault(field, []).append(f"At most {NAME_MAX} characters.")
    return typed, guardian, relationship


def record_acknowledgment(ctx: Context, patient_id: int, signed_on: date | None,
                          patient_signature: str, guardian_signature: str | None = None,
                          guardian_relationship: str | None = None, *,
                          witness: SignerProof) -> Acknowledgment:
    """The patient signs the current form of their category, witnessed by the prescriber, whose
    `witness` proof is checked first: one that is not theirs is audited and rejected
    (SignatureRejected), and nothing is stored. Office staff never witness (Forbidden)."""
    patient = own_patient(ctx, patient_id)
    require_signer(ctx, patient.prescriber_id, "witness the acknowledgment")
    if not proves_signer(ctx, witness):
        record_event(ctx, "acknowledgment.witness_password_failed", "patient", patient.id,
                     patient_id=patient.id, new={"form": current_form(patient.category).code})
        raise rejected_signature(ctx, witness, "That is not your password; the signature "
                                               "was not recorded.")
    errors: dict[str, list[str]] = {}
    typed, guardian, relationship = check_acknowledgment(
        errors, patient.first_name, patient.last_name, patient.date_of_birth, signed_on,
        patient_signature, guardian_signature, guardian_relationship, ctx.today())
    require(errors)
    assert signed_on is not None
    form = current_form(patient.category)
    ack = Acknowledgment(
        patient_id=patient.id, category=patient.category, form_code=form.code,
        form_version=form.version, signed_on=signed_on, patient_signature=typed,
        guardian_signature=guardian, guardian_relationship=relationship, meaning=form.meaning,
        witness_id=ctx.actor.user_id, signed_at=ctx.now(), signature_hmac="pending",
    )
    ctx.session.add(ack)
    ctx.session.flush()
    ack.signature_key_id, ack.signature_hmac = sign(ctx.signature_keys, "acknowledgment",
                                                    acknowledgment_fields(ack))
    ctx.session.flush()
    record_event(ctx, "acknowledgment.signed", "acknowledgment", ack.id, patient_id=patient.id,
                 new={"form_code": form.code, "form_version": form.version,
                      "signed_on": signed_on, "category": patient.category,
                      "guardian": bool(guardian), "meaning": form.meaning})
    return ack


def end_course(ctx: Context, patient_id: int, last_dose_on: date | None) -> Patient:
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    check_clinical_date(errors, "last_dose_on", last_dose_on, ctx.today(), patient.date_of_birth)
    require(errors)
    status = enrollment_status(load_patient_facts(ctx.session, patient), ctx.today())
    if not status.enrolled:
        raise ValidationFailed({"last_dose_on": ["The patient has no course under way."]})
    end = CourseEnd(patient_id=patient.id, last_dose_on=last_dose_on,
                    recorded_by=ctx.actor.user_id, recorded_at=ctx.now())
    ctx.session.add(end)
    ctx.session.flush()
    record_event(ctx, "course.ended", "patient", patient.id, patient_id=patient.id,
                 new={"last_dose_on": last_dose_on})
    return patient


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def check_patient_email(errors: dict[str, list[str]], value: str | None) -> str | None:
    """An optional email address: blank is none; otherwise one address (as typed, trimmed)."""
    address = (value or "").strip()
    if not address:
        return None
    if has_control_characters(address) or not _EMAIL.match(address) or len(address) > EMAIL_MAX:
        errors.setdefault("email", []).append(
            "Enter a valid email address (name@example.org), or leave it blank.")
    return address


def change_reminders(ctx: Context, patient_id: int, *, email: str | None | object = UNCHANGED,
                     language: str | object = UNCHANGED,
                     opted_out: bool | object = UNCHANGED) -> Patient:
    """The patient's email address (optional), the language of their reminders and whether
    they declined reminders, as the prescriber or their staff enter them; only what is given
    changes. Audited with the old and new values; nothing is stored when anything is invalid."""
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    new: dict[str, object] = {}
    if email is not UNCHANGED:
        if email is not None and not isinstance(email, str):
            errors.setdefault("email", []).append("Enter an email address, or leave it blank.")
        else:
            new["email"] = check_patient_email(errors, email)
    if language is not UNCHANGED:
        if language not in LANGUAGES:
            errors.setdefault("language", []).append(
                "Choose the language of the reminders: en (English) or es (Spanish).")
        else:
            new["language"] = language
    if opted_out is not UNCHANGED:
        if not isinstance(opted_out, bool):
            errors.setdefault("reminders_opted_out", []).append("Answer yes or no.")
        else:
            new["reminders_opted_out"] = opted_out
    require(errors)
    old = {name: getattr(patient, name) for name in new}
    changed = {name: value for name, value in new.items() if old[name] != value}
    if not changed:
        return patient
    for name, value in changed.items():
        setattr(patient, name, value)
    ctx.session.flush()
    record_event(ctx, "patient.reminders_changed", "patient", patient.id, patient_id=patient.id,
                 old={name: old[name] for name in changed}, new=changed)
    return patient
