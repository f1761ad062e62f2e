"""Demo data: an admin, an auditor, two prescribers, two pharmacies with staff, and patients in
every state from just registered to dispensed. Everything goes through the services (validated,
audited), with the clock set back where a record must lie in the past (a dispense happens
"today")."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.models import User
from tracker.services import (
    authorizations,
    dispenses,
    patients,
    pharmacies,
    prescriptions,
    records,
    users,
)
from tracker.services.context import Actor, Context
from tracker.services.signing import ReenteredPassword

ANSWERS = {"birth-defects": True, "two-methods": True, "month-before-after": True,
           "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
           "stop-if-pregnant": True, "breastfeeding-ok": False}
METHODS = ["iud", "male_condom"]


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    name: str
    password: str


def _clock_at(day: date, zone: str) -> Callable[[], datetime]:
    moment = datetime.combine(day, time(10), ZoneInfo(zone)).astimezone(UTC)
    return lambda: moment


class _Builder:
    def __init__(self, base: Context, passwords: dict[int, str]) -> None:
        self.base = base
        self.passwords = passwords  # user id -> password: the demo prescribers sign with it
        self.today = base.today()
        self.zone = base.program_timezone

    def days_ago(self, n: int) -> date:
        return self.today - timedelta(days=n)

    def as_(self, user: User, days_ago: int = 0) -> Context:
        actor = Actor(user_id=user.id, role=user.role, name=user.name,
                      pharmacy_id=user.pharmacy_id)
        ctx = dataclasses.replace(self.base, actor=actor)
        if days_ago:
            ctx = dataclasses.replace(ctx, clock=_clock_at(self.days_ago(days_ago), self.zone))
        return ctx

    def signature(self, user: User) -> ReenteredPassword:
        return ReenteredPassword(self.passwords[user.id])

    # --- one patient in each state ---------------------------------------------------------

    def registered(self, doc: User, first: str, last: str, born: date, category: str):  # type: ignore[no-untyped-def]
        return patients.register_patient(self.as_(doc), first, last, born, category)

    def enrolled(self, doc: User, first: str, last: str, born: date, category: str,
                 signed_days_ago: int, **guardian: str):  # type: ignore[no-untyped-def]
        p = self.registered(doc, first, last, born, category)
        patients.record_acknowledgment(self.as_(doc), p.id, self.days_ago(signed_days_ago),
                                       f"{first} {last}", **guardian,
                                       witness=self.signature(doc))
        return p

    def first_fill_ready(self, doc: User, first: str, last: str, born: date):  # type: ignore[no-untyped-def]
        """Screening 40 days ago, contraception from then, confirmation yesterday."""
        ctx = self.as_(doc)
        p = self.enrolled(doc, first, last, born, "can_get_pregnant", 45)
        records.record_pregnancy_test(ctx, p.id, self.days_ago(40), "negative", "office")
        records.record_contraception(ctx, p.id, self.days_ago(1), self.days_ago(40), METHODS,
                                     False)
        records.record_counseling(ctx, p.id, self.days_ago(1))
        records.record_pregnancy_test(ctx, p.id, self.days_ago(1), "negative", "lab")
        records.record_comprehension(ctx, p.id, self.today, ANSWERS, METHODS, False)
        return p

    def waiting_for_lead_time(self, doc: User, first: str, last: str, born: date):  # type: ignore[no-untyped-def]
        ctx = self.as_(doc)
        p = self.enrolled(doc, first, last, born, "can_get_pregnant", 12)
        records.record_pregnancy_test(ctx, p.id, self.days_ago(10), "negative", "office")
        records.record_contraception(ctx, p.id, self.days_ago(10), self.days_ago(10), METHODS,
                                     False)
        records.record_counseling(ctx, p.id, self.days_ago(10))
        return p

    def authorized(self, doc: User, p_id: int) -> str:
        ctx = self.as_(doc)
        rx = prescriptions.write_prescription(ctx, p_id, self.today, 30, 30)
        return authorizations.authorize(ctx, rx.id, signature=self.signature(doc)).number

    def dispensed_last_month(self, doc: User, pharmacist: User, first: str, last: str,
                             born: date):  # type: ignore[no-untyped-def]
        """First fill 32 days ago; today the monthly records for the next fill are due."""
        then = 32
        ctx = self.as_(doc, then)
        p = self.enrolled(doc, first, last, born, "can_get_pregnant", then + 45)
        records.record_pregnancy_test(ctx, p.id, self.days_ago(then + 40), "negative", "office")
        records.record_contraception(ctx, p.id, self.days_ago(then + 1),
                                     self.days_ago(then + 40), METHODS, False)
        records.record_counseling(ctx, p.id, self.days_ago(then + 1))
        records.record_pregnancy_test(ctx, p.id, self.days_ago(then + 1), "negative", "lab")
        records.record_comprehension(ctx, p.id, self.days_ago(then), ANSWERS, METHODS, False)
        rx = prescriptions.write_prescription(ctx, p.id, self.days_ago(then), 30, 30)
        number = authorizations.authorize(ctx, rx.id, signature=self.signature(doc)).number
        dispenses.dispense(self.as_(pharmacist, then), rx.id, number, 30, 30, True)
        prescriptions.write_prescription(self.as_(doc), p.id, self.today, 30, 30)
        return p


def _next_free_npi(session: Session, start: int) -> str:
    n = start
    while True:
        base = f"{n:09d}"
        for check in range(10):
            npi = base + str(check)
            if users.npi_is_valid(npi):
                taken = session.scalar(select(User.id).where(User.npi == npi))
                if not taken:
                    return npi
        n += 1


def build_demo(ctx: Context) -> list[Login]:
    """Create the demo data; returns the logins with their one-time passwords."""
    logins: list[Login] = []
    passwords: dict[int, str] = {}
    today = ctx.today()

    def user(role: str, email: str, name: str, **kw: object) -> User:
        password = secrets.token_urlsafe(12)
        created = users.create_user(ctx, role=role, email=email, name=name, password=password,
                                    **kw).user  # type: ignore[arg-type]
        created.must_change_password = False
        logins.append(Login(role, email, name, password))
        passwords[created.id] = password
        return created

    user("admin", "admin@demo.test", "Avery Admin")
    doc1 = user("prescriber", "dana.derm@demo.test", "Dr. Dana Derm",
                npi=_next_free_npi(ctx.session, 123456789))
    doc2 = user("prescriber", "lee.skin@demo.test", "Dr. Lee Skin",
                npi=_next_free_npi(ctx.session, 223456789))
    # Office staff of both prescribers: they prepare, the prescribers sign.
    nurse = user("staff", "pat.nurse@demo.test", "Pat Nurse",
                 works_for=[doc1.email, doc2.email])
    main_st = pharmacies.create_pharmacy(ctx, "Main Street Pharmacy", "3100001",
                                         today - timedelta(days=100), today - timedelta(days=100))
    harbor = pharmacies.create_pharmacy(ctx, "Harbor Drug", "3100002",
                                        today - timedelta(days=400), today - timedelta(days=400))
    rx1 = user("pharmacist", "sam.counter@demo.test", "Sam Counter", pharmacy_id=main_st.id)
    user("pharmacist", "kim.harbor@demo.test", "Kim Harbor", pharmacy_id=harbor.id)
    # Reads the program reports and the audit trail for the sponsor; changes nothing.
    user("auditor", "rene.audit@demo.test", "Rene Auditor")
    ctx.session.flush()

    b = _Builder(ctx, passwords)
    b.registered(doc1, "Jordan", "Lee", date(1999, 5, 14), "can_get_pregnant")
    b.enrolled(doc1, "Riley", "Chen", date(2009, 8, 2), "can_get_pregnant", 3,
               guardian_signature="Morgan Chen", guardian_relationship="mother")
    waiting = b.waiting_for_lead_time(doc1, "Casey", "Morgan", date(2001, 2, 20))
    drafted = b.first_fill_ready(doc1, "Taylor", "Nguyen", date(1997, 11, 3))
    # Drafted by the office staff: ready for Dr. Derm to sign.
    prescriptions.write_prescription(b.as_(nurse), drafted.id, today, 30, 30)
    ready = b.first_fill_ready(doc1, "Morgan", "Patel", date(1994, 6, 30))
    prescriptions.write_prescription(b.as_(doc1), ready.id, today, 30, 30)
    authorized = b.first_fill_ready(doc1, "Jamie", "Garcia", date(1998, 3, 9))
    b.authorized(doc1, authorized.id)
    monthly = b.dispensed_last_month(doc1, rx1, "Avery", "Johnson", date(1996, 1, 25))
    positive = b.enrolled(doc1, "Quinn", "Rossi", date(2000, 9, 12), "can_get_pregnant", 50)
    records.record_pregnancy_test(b.as_(doc1), positive.id, b.days_ago(2), "positive", "lab")
    cngp = b.enrolled(doc1, "Robin", "Okafor", date(1970, 12, 1), "cannot_get_pregnant", 20)
    records.record_counseling(b.as_(doc1), cngp.id, b.days_ago(2))
    b.authorized(doc1, cngp.id)
    ended = b.enrolled(doc1, "Sky", "Martin", date(1993, 4, 18), "cannot_get_pregnant", 200)
    patients.end_course(b.as_(doc1), ended.id, b.days_ago(5))
    # Reminder emails (tracker notify run): three patients with an address, one in Spanish,
    # and one who declined them.
    for p, email, language in ((waiting, "casey.morgan@example.org", "en"),
                               (authorized, "jamie.garcia@example.org", "es"),
                               (monthly, "avery.johnson@example.org", "en")):
        patients.change_reminders(b.as_(doc1), p.id, email=email, language=language)
    patients.change_reminders(b.as_(doc1), cngp.id, email="robin.okafor@example.org",
                              opted_out=True)
    b.first_fill_ready(doc2, "Drew", "Kim", date(1995, 7, 7))
    b.registered(doc2, "Parker", "Diaz", date(1988, 10, 10), "cannot_get_pregnant")
    return logins


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def write_logins(path: Path, logins: list[Login]) -> None:
    """Keep the demo logins beside the demo database (readable by its owner only), so that a
    restarted demo can still be signed in to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{x.role:<11} {x.email:<26} {x.password}" for x in logins]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
