"""Builders for service and web tests: people, pharmacies, patients in given states. They go
through the services, so what they build is what the app itself would have stored."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta

from tracker.models import Pharmacy, User
from tracker.services import patients, pharmacies, prescriptions, records, users
from tracker.services.context import Actor, Context
from tracker.services.signing import ReenteredPassword

PASSWORD = "correct horse battery"
# Every user built here has PASSWORD: their signature when they sign, re-entered as on a page.
SIGNED = ReenteredPassword(PASSWORD)
ANSWERS = {"birth-defects": True, "two-methods": True, "month-before-after": True,
           "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
           "stop-if-pregnant": True, "breastfeeding-ok": False}
_seq = itertools.count(1)


def _npi(seed: int) -> str:
    """A valid NPI (Luhn over 80840 + nine digits) made from a sequence number."""
    base = f"{100000000 + seed:09d}"[-9:]
    for check in range(10):
        if users.npi_is_valid(base + str(check)):
            return base + str(check)
    raise AssertionError("unreachable")


def as_user(ctx: Context, user: User) -> Context:
    actor = Actor(user_id=user.id, role=user.role, name=user.name, pharmacy_id=user.pharmacy_id)
    return dataclasses.replace(ctx, actor=actor)


def prescriber(ctx: Context, name: str = "Dana Derm", **kw: object) -> User:
    n = next(_seq)
    user = users.create_user(ctx, role="prescriber", email=f"doc{n}@example.test", name=name,
                             npi=_npi(n), password=PASSWORD, fast_hash=True, **kw).user
    user.must_change_password = False
    return user


def admin(ctx: Context) -> User:
    n = next(_seq)
    user = users.create_user(ctx, role="admin", email=f"admin{n}@example.test",
                             name="Ada Admin", password=PASSWORD, fast_hash=True).user
    user.must_change_password = False
    return user


def auditor(ctx: Context) -> User:
    n = next(_seq)
    user = users.create_user(ctx, role="auditor", email=f"auditor{n}@example.test",
                             name="Audra Auditor", password=PASSWORD, fast_hash=True).user
    user.must_change_password = False
    return user


def staff(ctx: Context, *works_for: User, name: str = "Sam Staff") -> User:
    """Office staff working for the given prescribers."""
    n = next(_seq)
    user = users.create_user(ctx, role="staff", email=f"staff{n}@example.test", name=name,
                             password=PASSWORD, fast_hash=True,
                             works_for=[p.email for p in works_for]).user
    user.must_change_password = False
    return user


def pharmacy(ctx: Context, activated_on: date | None = None,
             trained_on: date | None = None) -> Pharmacy:
    n = next(_seq)
    return pharmacies.create_pharmacy(ctx, f"Pharmacy {n}", f"{1000000 + n:07d}", activated_on,
                                      trained_on)


def pharmacist(ctx: Context, at: Pharmacy | None = None) -> User:
    n = next(_seq)
    at = at or pharmacy(ctx)
    user = users.create_user(ctx, role="pharmacist", email=f"rx{n}@example.test",
                             name="Pat Pharmacist", pharmacy_id=at.id, password=PASSWORD,
                             fast_hash=True).user
    user.must_change_password = False
    return user


def patient(ctx: Context, category: str = "can_get_pregnant", first: str = "Alex",
            last: str = "Rivera", born: date = date(1995, 4, 2)):  # type: ignore[no-untyped-def]
    """Registered by the acting prescriber (ctx must act as one)."""
    return patients.register_patient(ctx, first, last, born, category)


def enrolled_patient(ctx: Context, category: str = "can_get_pregnant",
                     signed_on: date | None = None, **kw: object):  # type: ignore[no-untyped-def]
    p = patient(ctx, category, **kw)  # type: ignore[arg-type]
    patients.record_acknowledgment(ctx, p.id, signed_on or ctx.today() - timedelta(days=60),
                                   f"{p.first_name} {p.last_name}", witness=SIGNED)
    return p


def ready_for_first_fill(ctx: Context, **kw: object):  # type: ignore[no-untyped-def]
    """A patient who can get pregnant and meets every first-fill rule today."""
    today = ctx.today()
    p = enrolled_patient(ctx, **kw)
    records.record_pregnancy_test(ctx, p.id, today - timedelta(days=40), "negative", "office")
    records.record_contraception(ctx, p.id, today - timedelta(days=1),
                                 today - timedelta(days=40), ["iud", "male_condom"], False)
    records.record_counseling(ctx, p.id, today - timedelta(days=1))
    records.record_pregnancy_test(ctx, p.id, today - timedelta(days=1), "negative", "lab")
    records.record_comprehension(ctx, p.id, today, ANSWERS, ["iud", "male_condom"], False)
    return p


def prescription(ctx: Context, patient_id: int, days_supply: int = 30, quantity: int = 30):  # type: ignore[no-untyped-def]
    return prescriptions.write_prescription(ctx, patient_id, ctx.today(), days_supply, quantity)


def patient_account(ctx: Context, patient_id: int, email: str | None = None) -> User:
    """The patient's own portal account, set up as the patient would: the clinic (ctx acts as
    the prescriber or their staff) invites, the patient accepts with their birth date."""
    from tracker.models import Patient
    from tracker.services import portal_accounts

    invitation = portal_accounts.issue_invitation(ctx, patient_id)
    found = ctx.session.get(Patient, patient_id)
    assert found is not None
    anonymous = dataclasses.replace(ctx, actor=Actor(user_id=None, role=None))
    return portal_accounts.accept_invitation(
        anonymous, invitation.code, found.date_of_birth,
        email or f"patient{next(_seq)}@example.test", PASSWORD, fast_hash=True)
