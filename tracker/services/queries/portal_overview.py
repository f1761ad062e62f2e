"""What the patient reads in their own portal: enrolled or not, what the next fill still needs
and who does it, their program number, their open authorizations and their signed
acknowledgment. The needs come from the engine's checklist (tracker.domain.next_steps), the same
one the prescriber's page shows: the rules are read once, here they are only reworded as tasks
of the patient or of the clinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select

from tracker.domain.facts import Category
from tracker.domain.next_steps import Requirement, RequirementStatus
from tracker.domain.reasons import ReasonCode
from tracker.models import Acknowledgment, Authorization, AuthorizationState, Patient, Prescription
from tracker.services.consent_forms import ConsentForm, current_form
from tracker.services.context import Context
from tracker.services.errors import NotFound
from tracker.services.facts import load_many_patient_facts
from tracker.services.portal_accounts import portal_patient
from tracker.services.queries.worklist import outlook_of, summary_of


class Who(StrEnum):
    YOU = "you"
    CLINIC = "clinic"


class Task(StrEnum):
    """What is still needed, in the patient's words (the page words each one)."""

    SIGN_ACKNOWLEDGMENT = "sign_acknowledgment"
    COUNSELING = "counseling"
    COUNSELING_VISIT = "counseling_visit"
    CONTRACEPTION = "contraception"
    MONTHLY_QUESTIONS = "monthly_questions"
    CONFIRM_SAME_CONTRACEPTION = "confirm_same_contraception"
    PREGNANCY_TEST = "pregnancy_test"
    NEW_PREGNANCY_TEST = "new_pregnancy_test"
    TALK_TO_PRESCRIBER = "talk_to_prescriber"
    CONFIRMATION_TEST = "confirmation_test"
    PRESCRIBER_ACTIVE = "prescriber_active"
    PICK_UP = "pick_up"


@dataclass(frozen=True)
class Need:
    task: Task
    who: Who
    from_date: date | None = None  # it can be done from this day (None: now)


@dataclass(frozen=True)
class OpenAuthorization:
    id: int
    number: str
    prescription_number: str
    prescription_id: int
    issued_on: date
    do_not_dispense_after: date | None


@dataclass(frozen=True)
class PortalOverview:
    patient: Patient
    today: date
    enrolled: bool
    can_get_pregnant: bool
    needs: tuple[Need, ...]
    window_closes_on: date | None  # the window of the next fill, when one is open
    ready_for_prescriber: bool  # nothing is needed: the prescriber can authorize the fill
    authorizations: tuple[OpenAuthorization, ...]
    acknowledgment: Acknowledgment | None
    form: ConsentForm


_PATIENT_DOES = frozenset({"comprehension"})


def _need(item: Requirement) -> Need | None:
    """The task behind one checklist line that is not met (None: nothing for the patient)."""
    codes = {reason.code for reason in item.reasons}
    met_from = max((r.met_from for r in item.reasons if r.met_from is not None), default=None)
    key = item.key
    if key == "enrollment":
        return Need(Task.SIGN_ACKNOWLEDGMENT, Who.CLINIC)
    if key in ("counseling", "counseling_once"):
        return Need(Task.COUNSELING, Who.CLINIC, met_from)
    if key == "visit_window":
        return Need(Task.COUNSELING_VISIT, Who.CLINIC, met_from)
    if key == "contraception":
        return Need(Task.CONTRACEPTION, Who.CLINIC, met_from)
    if key == "comprehension":
        task = (Task.CONFIRM_SAME_CONTRACEPTION if ReasonCode.CONTRACEPTION_MISMATCH in codes
                else Task.MONTHLY_QUESTIONS)
        return Need(task, Who.YOU, met_from)
    if key == "pregnancy_test":
        if ReasonCode.PREGNANCY_TEST_POSITIVE in codes:
            return Need(Task.TALK_TO_PRESCRIBER, Who.CLINIC)
        if ReasonCode.WINDOW_EXPIRED in codes:
            return Need(Task.NEW_PREGNANCY_TEST, Who.CLINIC, met_from)
        return Need(Task.PREGNANCY_TEST, Who.CLINIC, met_from)
    if key in ("screening", "lead_time", "lockout"):
        return Need(Task.CONFIRMATION_TEST, Who.CLINIC, met_from)
    if key == "prescriber":
        return Need(Task.PRESCRIBER_ACTIVE, Who.CLINIC)
    if key == "one_authorization":
        return Need(Task.PICK_UP, Who.YOU)
    if key == "other":
        return Need(Task.TALK_TO_PRESCRIBER, Who.CLINIC)
    return None  # "prescription": the clinic's paperwork, nothing the patient waits for


def _needs(checklist: tuple[Requirement, ...]) -> tuple[Need, ...]:
    out: list[Need] = []
    for item in checklist:
        if item.status == RequirementStatus.MET:
            continue
        need = _need(item)
        if need is not None and need not in out:
            out.append(need)
    # The patient's own tasks first: they are the ones this page lets them do.
    return tuple(sorted(out, key=lambda n: n.who != Who.YOU))


def _open_authorizations(ctx: Context, patient_id: int) -> tuple[OpenAuthorization, ...]:
    rows = ctx.session.execute(
        select(Authorization, Prescription.number)
        .join(Prescription, Prescription.id == Authorization.prescription_id)
        .where(Authorization.patient_id == patient_id,
               Authorization.state == AuthorizationState.OPEN)
        .order_by(Authorization.issued_on.desc(), Authorization.id.desc())
    ).all()
    today = ctx.today()
    return tuple(
        OpenAuthorization(auth.id, auth.number, rx_number, auth.prescription_id, auth.issued_on,
                          auth.do_not_dispense_after)
        for auth, rx_number in rows
        if auth.do_not_dispense_after is None or auth.do_not_dispense_after >= today)


def overview(ctx: Context) -> PortalOverview:
    """The signed-in patient's own page (a patient's account reads nothing else)."""
    patient = portal_patient(ctx)
    facts = load_many_patient_facts(ctx.session, [patient])[patient.id]
    rxs = list(ctx.session.scalars(
        select(Prescription).where(Prescription.patient_id == patient.id)))
    seen = outlook_of(ctx, patient, facts, [summary_of(rx) for rx in rxs], [])
    decision = seen.outlook.decision
    authorizations = _open_authorizations(ctx, patient.id)
    # While an authorization is open, the next fill is the one at the pharmacy: what a later
    # fill would need (and its window) waits until it is picked up.
    needs = () if authorizations else _needs(seen.checklist)
    window = decision.window if not authorizations else None
    return PortalOverview(
        patient=patient, today=seen.today, enrolled=seen.status.enrolled,
        can_get_pregnant=patient.category == Category.CAN_GET_PREGNANT,
        needs=needs,
        window_closes_on=window.closes_on if window is not None else None,
        ready_for_prescriber=decision.dispensable and not authorizations,
        authorizations=authorizations,
        acknowledgment=(ctx.session.get(Acknowledgment, seen.status.acknowledgment_id)
                        if seen.status.acknowledgment_id is not None else None),
        form=current_form(patient.category),
    )


def authorization_number(ctx: Context, authorization_id: int) -> str:
    """The number of one of the signed-in patient's own open authorizations, for the QR code
    shown at the pharmacy; NotFound for any other (another patient's is not revealed)."""
    patient = portal_patient(ctx)
    for auth in _open_authorizations(ctx, patient.id):
        if auth.id == authorization_id:
            return auth.number
    raise NotFound("no such authorization")
