"""Pharmacies: setting one up, correcting it, the annual reactivation and the staff training
attestation (RULES.md §3), and its standing: whether it may dispense today and what it must
renew soon. Every change is audited in the transaction that makes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from tracker.domain.facts import PharmacyFacts
from tracker.domain.policy import pharmacy_problems
from tracker.models import Pharmacy
from tracker.services.administration import given_reason, require_admin
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed, require
from tracker.services.text import MESSAGE as TEXT_MESSAGE
from tracker.services.text import has_control_characters

NAME_MAX = 200
# How far ahead the administration warns that a pharmacy's activation or staff training
# attestation runs out, so that it can be renewed before the counter is refused.
RENEWAL_NOTICE_DAYS = 30


def ncpdp_is_valid(ncpdp: str) -> bool:
    return bool(re.fullmatch(r"\d{7}", ncpdp or ""))


@dataclass(frozen=True)
class PharmacyStanding:
    """A pharmacy and what RULES.md §3 says of it today: `problems` is what must be renewed for
    it to dispense (empty: active); `due_on` is the first day within the notice period on which
    it would stop being active, with `due` saying what runs out then."""

    pharmacy: Pharmacy
    problems: tuple[str, ...]
    due_on: date | None = None
    due: tuple[str, ...] = ()
    staff: int = 0

    @property
    def active(self) -> bool:
        return not self.problems


def pharmacy_facts_from(activated_on: date, trained_on: date | None) -> PharmacyFacts:
    return PharmacyFacts(activated_on=activated_on, trained_on=trained_on)


def _problems_on(ctx: Context, facts: PharmacyFacts, day: date) -> tuple[str, ...]:
    return pharmacy_problems(facts, day, ctx.policy(day))


def renewal(ctx: Context, facts: PharmacyFacts) -> tuple[tuple[str, ...], date | None,
                                                         tuple[str, ...]]:
    """Today's problems, and for an active pharmacy the first day of the notice period on which
    the rules engine would find it inactive (the engine decides; this only asks it per day)."""
    today = ctx.today()
    problems = _problems_on(ctx, facts, today)
    if problems:
        return problems, None, ()
    horizon = today + timedelta(days=RENEWAL_NOTICE_DAYS)
    if not _problems_on(ctx, facts, horizon):
        return problems, None, ()
    for offset in range(1, RENEWAL_NOTICE_DAYS + 1):
        day = today + timedelta(days=offset)
        due = _problems_on(ctx, facts, day)
        if due:
            return problems, day, due
    return problems, None, ()  # pragma: no cover - the horizon itself had problems


def standing(ctx: Context, pharmacy: Pharmacy, staff: int = 0) -> PharmacyStanding:
    """Whether the pharmacy may dispense today and what it must renew (any role may ask: the
    counter is told what its own pharmacy must renew)."""
    facts = pharmacy_facts_from(pharmacy.activated_on, pharmacy.trained_on)
    problems, due_on, due = renewal(ctx, facts)
    return PharmacyStanding(pharmacy, problems, due_on, due, staff)


def pharmacy_by_id(ctx: Context, pharmacy_id: int) -> Pharmacy:
    pharmacy = ctx.session.get(Pharmacy, pharmacy_id)
    if pharmacy is None:
        raise NotFound("no such pharmacy")
    return pharmacy


def create_pharmacy(
    ctx: Context,
    name: str,
    ncpdp_id: str,
    activated_on: date | None = None,
    trained_on: date | None = None,
) -> Pharmacy:
    """A new pharmacy (set up by the program: command line, demo data); the activation and
    training attestation dates are today when not given."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {
        "name": [], "ncpdp_id": [], "activated_on": [], "trained_on": []
    }
    if has_control_characters(name):
        errors["name"].append(TEXT_MESSAGE)
    elif not name or len(name) > NAME_MAX:
        errors["name"].append(f"Enter the pharmacy's name (1 to {NAME_MAX} characters).")
    if not ncpdp_is_valid(ncpdp_id):
        errors["ncpdp_id"].append("The NCPDP id has exactly 7 digits.")
    elif ctx.session.scalar(select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp_id)):
        errors["ncpdp_id"].append("A pharmacy with this NCPDP id already exists.")
    today = ctx.today()
    activated_on = activated_on or today
    trained_on = trained_on or today
    if activated_on > today:
        errors["activated_on"].append("The activation date cannot be in the future.")
    if trained_on > today:
        errors["trained_on"].append("The training attestation date cannot be in the future.")
    require(errors)
    pharmacy = Pharmacy(
        name=name, ncpdp_id=ncpdp_id, activated_on=activated_on, trained_on=trained_on,
        created_at=ctx.now(),
    )
    ctx.session.add(pharmacy)
    ctx.session.flush()
    record_event(
        ctx,
        "pharmacy.created",
        "pharmacy",
        pharmacy.id,
        new={"name": name, "ncpdp_id": ncpdp_id, "activated_on": activated_on,
             "trained_on": trained_on},
    )
    return pharmacy


def admin_create_pharmacy(ctx: Context, name: str, ncpdp_id: str, activated_on: date | None,
                    trained_on: date | None) -> Pharmacy:
    """A new pharmacy with its activation and staff training attestation dates (today when
    not given)."""
    require_admin(ctx)
    return create_pharmacy(ctx, name, (ncpdp_id or "").strip(), activated_on, trained_on)


def _check_program_day(errors: dict[str, list[str]], field: str, value: date | None,
                       today: date, what: str, required: bool = True) -> None:
    if value is None:
        if required:
            errors.setdefault(field, []).append(f"Enter the {what} (YYYY-MM-DD).")
    elif value > today:
        errors.setdefault(field, []).append(
            f"The {what} cannot be after today ({today.isoformat()}).")


def edit_pharmacy(ctx: Context, pharmacy_id: int, *, name: str, ncpdp_id: str,
                  activated_on: date | None, trained_on: date | None,
                  reason: str | None) -> Pharmacy:
    """Correct a pharmacy's details. The audit event keeps the old and the new values and why."""
    require_admin(ctx)
    pharmacy = pharmacy_by_id(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    ncpdp_id = (ncpdp_id or "").strip()
    if not name or len(name) > NAME_MAX:
        errors.setdefault("name", []).append(
            f"Enter the pharmacy's name (1 to {NAME_MAX} characters).")
    if not ncpdp_is_valid(ncpdp_id):
        errors.setdefault("ncpdp_id", []).append("The NCPDP id has exactly 7 digits.")
    elif ctx.session.scalar(select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp_id,
                                                      Pharmacy.id != pharmacy.id)):
        errors.setdefault("ncpdp_id", []).append("Another pharmacy has this NCPDP id.")
    today = ctx.today()
    _check_program_day(errors, "activated_on", activated_on, today, "activation date")
    _check_program_day(errors, "trained_on", trained_on, today,
                       "staff training attestation date", required=False)
    text = given_reason(errors, reason, "the pharmacy is changed")
    require(errors)
    assert activated_on is not None
    old = {"name": pharmacy.name, "ncpdp_id": pharmacy.ncpdp_id,
           "activated_on": pharmacy.activated_on, "trained_on": pharmacy.trained_on}
    new = {"name": name, "ncpdp_id": ncpdp_id, "activated_on": activated_on,
           "trained_on": trained_on}
    changed = {k for k in new if new[k] != old[k]}
    if not changed:
        raise ValidationFailed(
            {"pharmacy": ["Nothing was changed: the values are the ones on file."]})
    pharmacy.name, pharmacy.ncpdp_id = name, ncpdp_id
    pharmacy.activated_on, pharmacy.trained_on = activated_on, trained_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.updated", "pharmacy", pharmacy.id,
                 old={k: old[k] for k in sorted(changed)},
                 new={k: new[k] for k in sorted(changed)}, reason=text)
    return pharmacy


def record_reactivation(ctx: Context, pharmacy_id: int, activated_on: date | None) -> Pharmacy:
    """RULES.md §3: the annual reactivation starts a new 365-day activation on its date."""
    require_admin(ctx)
    pharmacy = pharmacy_by_id(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    today = ctx.today()
    _check_program_day(errors, "activated_on", activated_on, today, "reactivation date")
    if activated_on is not None and activated_on < pharmacy.activated_on:
        errors.setdefault("activated_on", []).append(
            f"A reactivation cannot be dated before the current activation "
            f"({pharmacy.activated_on.isoformat()}); correct the date with Edit instead.")
    require(errors)
    assert activated_on is not None
    old = pharmacy.activated_on
    pharmacy.activated_on = activated_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.reactivated", "pharmacy", pharmacy.id,
                 old={"activated_on": old}, new={"activated_on": activated_on})
    return pharmacy


def record_training(ctx: Context, pharmacy_id: int, trained_on: date | None,
                    attested_by: str | None) -> Pharmacy:
    """RULES.md §3 (from ipledge-2026): the pharmacy attests that its staff are trained; the
    attestation counts for 365 days from its date."""
    require_admin(ctx)
    pharmacy = pharmacy_by_id(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    today = ctx.today()
    _check_program_day(errors, "trained_on", trained_on, today, "attestation date")
    if (trained_on is not None and pharmacy.trained_on is not None
            and trained_on < pharmacy.trained_on):
        errors.setdefault("trained_on", []).append(
            f"An attestation cannot be dated before the current one "
            f"({pharmacy.trained_on.isoformat()}); correct the date with Edit instead.")
    who = " ".join((attested_by or "").split())
    if not who or len(who) > NAME_MAX:
        errors.setdefault("attested_by", []).append(
            f"Enter the name of the pharmacist who signed the attestation (1 to {NAME_MAX} "
            f"characters).")
    require(errors)
    assert trained_on is not None
    old = pharmacy.trained_on
    pharmacy.trained_on = trained_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.training_attested", "pharmacy", pharmacy.id,
                 old={"trained_on": old}, new={"trained_on": trained_on, "attested_by": who})
    return pharmacy
