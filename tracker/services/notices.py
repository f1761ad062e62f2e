"""Reminder notices: what to tell whom today, read from the next steps of the engine
(tracker.domain.next_steps), and the outbox they wait in until an SMTP server takes them.

To the patient (an email on file, reminders not declined, in their language):

- `test_from`: the pregnancy test can be collected from a date: the confirmation test of a
  first fill (StepKind.CONFIRMATION_TEST, once its date is certain), or the monthly test of the
  next fill (StepKind.NEXT_FILL waiting for a negative test);
- `window_closing`: a window that closes tomorrow (StepKind.WINDOW_CLOSING due tomorrow);
- `monthly_questions`: the comprehension questions of this cycle are due (the records the next
  fill needs include them);
- `authorization_issued`: an authorization waits at the pharmacy (its number and last day);
- `post_treatment_test`: the pregnancy test due after the last dose (RULES.md §10), from
  REMINDER_LEAD_DAYS before its date.

To each prescriber and each member of their office staff, once a day: a digest of the urgent
items of their patients (a registry report due, an authorization to reverse, a window closing
today or tomorrow); staff working for several prescribers get one digest with each.

Each notice has a key that names it for good (the patient or user, the kind and the date or
number it is about): the outbox's unique index refuses the same key twice, so a run repeated,
or run by two machines at once, queues nothing again. Sending is claimed row by row with a
conditional UPDATE, so only one run hands a notice to the SMTP server."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracker.domain.facts import PatientFacts
from tracker.domain.next_steps import Situation, Step, StepKind, outlook
from tracker.domain.reasons import ReasonCode
from tracker.models import Notice, NoticeAudience, NoticeStatus, Patient, User
from tracker.services.care_team import staff_of
from tracker.services.context import Context
from tracker.services.dml import rows_changed
from tracker.services.notice_texts import long_date, render
from tracker.services.queries.worklist import situations_of

REMINDER_LEAD_DAYS = 7  # (design default) the post-treatment test is announced a week ahead
CHUNK = 500  # patients decided per batch of queries
_ONE_DAY = timedelta(days=1)
_QUESTION_CODES = frozenset({ReasonCode.COMPREHENSION_MISSING,
                             ReasonCode.CONTRACEPTION_MISMATCH})
_TEST_CODES = frozenset({ReasonCode.PREGNANCY_TEST_MISSING, ReasonCode.WINDOW_EXPIRED,
                         ReasonCode.PREGNANCY_TEST_POSITIVE})
# The digest's urgent items (next_steps.Urgency): registry reports, blocked authorizations,
# windows closing today or tomorrow.
DIGEST_KINDS = {
    StepKind.REPORT_POSITIVE_TEST: "registry_report",
    StepKind.REVERSE_AUTHORIZATION: "blocked_authorization",
    StepKind.WINDOW_CLOSING: "window_closing",
}


@dataclass(frozen=True)
class Planned:
    """A notice to queue: who gets it, under which key, and what its template is told."""

    key: str
    kind: str
    audience: NoticeAudience
    to_address: str
    language: str
    values: dict[str, Any] = field(default_factory=dict)
    patient_id: int | None = None
    user_id: int | None = None


# --- what the patient is told --------------------------------------------------------------------


def _cycle_of(facts: PatientFacts) -> str:
    """What names the patient's current cycle in a key: the newest dispense, or (before the
    first fill) the newest acknowledgment."""
    if facts.dispenses:
        return "after-" + max(d.dispensed_on for d in facts.dispenses).isoformat()
    signed = max((a.signed_on for a in facts.acknowledgments), default=None)
    return "enrolled-" + (signed.isoformat() if signed else "none")


def _test_from(step: Step, today: date) -> date | None:
    """The day a pregnancy test can be collected from, when the step gives a firm one."""
    codes = {reason.code for reason in step.reasons}
    if step.due_on is None or step.due_on < today:
        return None
    if step.kind == StepKind.CONFIRMATION_TEST:
        # Without a contraception entry the 30-day wait is counted from each new day: no
        # firm date to announce yet.
        return None if ReasonCode.CONTRACEPTION_MISSING in codes else step.due_on
    if step.kind == StepKind.NEXT_FILL and codes & _TEST_CODES:
        return step.due_on
    return None


def patient_notices(patient: Patient, situation: Situation, steps: tuple[Step, ...],
                    today: date) -> list[Planned]:
    """The notices a patient gets today from their next steps (none without an email address
    or when they declined reminders)."""
    if not patient.email or patient.reminders_opted_out:
        return []
    lang = patient.language
    out: list[Planned] = []

    def add(key: str, kind: str, **values: Any) -> None:
        out.append(Planned(f"{kind}:{patient.id}:{key}", kind, NoticeAudience.PATIENT,
                           patient.email or "", lang,
                           {"first_name": patient.first_name, **values},
                           patient_id=patient.id))

    authorizations = {a.prescription_id: a for a in situation.patient.open_authorizations}
    for step in steps:
        auth = authorizations.get(step.prescription_id or 0)
        if step.kind in (StepKind.AWAITING_DISPENSE, StepKind.WINDOW_CLOSING) and auth:
            last = auth.do_not_dispense_after
            out.append(Planned(f"authorization_issued:{auth.number}", "authorization_issued",
                               NoticeAudience.PATIENT, patient.email, lang,
                               {"first_name": patient.first_name, "number": auth.number,
                                "last_day": long_date(last, lang) if last else None},
                               patient_id=patient.id))
        if step.kind == StepKind.WINDOW_CLOSING and step.due_on == today + _ONE_DAY:
            add(step.due_on.isoformat(), "window_closing", closes_on=long_date(step.due_on, lang),
                at_pharmacy=auth is not None)
        if (day := _test_from(step, today)) is not None:
            add(day.isoformat(), "test_from", from_day=long_date(day, lang), today=day == today)
        if step.kind == StepKind.RECORDS_NEEDED and any(
                r.code in _QUESTION_CODES for r in step.reasons):
            add(_cycle_of(situation.patient), "monthly_questions")
        if (step.kind == StepKind.POST_TREATMENT_TEST and step.due_on is not None
                and step.due_on <= today + timedelta(days=REMINDER_LEAD_DAYS)):
            add(step.due_on.isoformat(), "post_treatment_test",
                due_on=long_date(step.due_on, lang), overdue=step.due_on < today)
    return out


# --- the care team's digest ----------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    patient_name: str
    program_number: str
    what: str  # a key of DIGEST_KINDS' values
    on: str | None  # the date it is about, spelled out
    url: str | None


def _digest_items(patient: Patient, steps: tuple[Step, ...],
                  base_url: str | None) -> list[DigestItem]:
    url = f"{base_url}/patients/{patient.id}" if base_url else None
    name = f"{patient.last_name}, {patient.first_name}"
    return [DigestItem(name, patient.program_number or "", DIGEST_KINDS[step.kind],
                       long_date(step.due_on, "en") if step.due_on else None, url)
            for step in steps if step.kind in DIGEST_KINDS]


def digest_notices(ctx: Context, items: dict[int, list[DigestItem]],
                   today: date, base_url: str | None) -> list[Planned]:
    """One digest a day for each active prescriber with urgent items and for each member of
    their office staff, who read the items of every prescriber they work for."""
    sections: dict[int, list[tuple[str, list[DigestItem]]]] = defaultdict(list)
    readers: dict[int, User] = {}
    for prescriber_id in sorted(items):
        prescriber = ctx.session.get(User, prescriber_id)
        if prescriber is None or not items[prescriber_id]:
            continue
        for reader in [prescriber, *staff_of(ctx, prescriber_id)]:
            if reader.active:
                readers[reader.id] = reader
                sections[reader.id].append((prescriber.name, items[prescriber_id]))
    return [Planned(f"digest:{uid}:{today.isoformat()}", "digest", NoticeAudience.CARE_TEAM,
                    readers[uid].email, "en",
                    {"name": readers[uid].name, "day": long_date(today, "en"),
                     "sections": sections[uid], "count": sum(len(i) for _, i in sections[uid]),
                     "worklist_url": f"{base_url}/worklist" if base_url else None},
                    user_id=uid)
            for uid in sorted(sections)]


# --- planning and queueing -----------------------------------------------------------------------


def plan(ctx: Context, base_url: str | None = None) -> list[Planned]:
    """Every notice due today, for every patient of every prescriber (the system acts here: no
    user's reach applies), read from the engine's next steps."""
    today = ctx.today()
    policy = ctx.policy(today)
    planned: list[Planned] = []
    digest: dict[int, list[DigestItem]] = defaultdict(list)
    last_id = 0
    while True:
        patients = list(ctx.session.scalars(
            select(Patient).where(Patient.id > last_id).order_by(Patient.id).limit(CHUNK)))
        if not patients:
            break
        last_id = patients[-1].id
        by_id = {p.id: p for p in patients}
        for patient_id, situation in situations_of(ctx, patients).items():
            patient = by_id[patient_id]
            steps = outlook(situation, today, policy, ctx.rule_sets).steps
            planned += patient_notices(patient, situation, steps, today)
            digest[patient.prescriber_id] += _digest_items(patient, steps, base_url)
    return planned + digest_notices(ctx, digest, today, base_url)


def _insert_ignoring_duplicates(ctx: Context, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose key is new; a key another run queued meanwhile is skipped by the
    database (ON CONFLICT DO NOTHING), never queued twice."""
    dialect = ctx.session.get_bind().dialect.name
    inserted = 0
    for row in rows:
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(Notice).values(**row).on_conflict_do_nothing(
                index_elements=["key"])
        elif dialect == "sqlite":
            stmt = sqlite.insert(Notice).values(**row).on_conflict_do_nothing(
                index_elements=["key"])
        else:  # pragma: no cover - the two databases tracker runs on are above
            stmt = insert(Notice).values(**row)
        # RETURNING tells what was written on both databases (psycopg gives no row count here).
        inserted += len(ctx.session.execute(stmt.returning(Notice.id)).all())
    return inserted


def queue(ctx: Context, planned: list[Planned], env: Environment) -> int:
    """Write the planned notices not queued before into the outbox, rendered in their
    language; returns how many are new."""
    keys = [p.key for p in planned]
    known: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        known |= set(ctx.session.scalars(
            select(Notice.key).where(Notice.key.in_(keys[start:start + CHUNK]))))
    now = ctx.now()
    rows = []
    for notice in planned:
        if notice.key in known:
            continue
        known.add(notice.key)
        text = render(env, notice.kind, notice.language, notice.values)
        rows.append({
            "key": notice.key, "kind": notice.kind, "audience": notice.audience.value,
            "patient_id": notice.patient_id, "user_id": notice.user_id,
            "to_address": notice.to_address, "language": notice.language,
            "subject": text.subject[:200], "body_text": text.text, "body_html": text.html,
            "status": NoticeStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
            "created_at": now,
        })
    return _insert_ignoring_duplicates(ctx, rows)


# --- the outbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """How long to wait after the n-th failed attempt: first_delay, doubling, at most
    max_delay; after max_attempts the notice is given up (failed)."""

    first_delay: timedelta = timedelta(minutes=5)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 8

    def delay(self, attempts: int) -> timedelta:
        wait: timedelta = self.first_delay * (2 ** max(attempts - 1, 0))
        return min(wait, self.max_delay)


def due_ids(ctx: Context, limit: int = 1000) -> list[int]:
    """Notices waiting to be sent whose next attempt time has come, oldest first."""
    return list(ctx.session.scalars(
        select(Notice.id).where(Notice.status == NoticeStatus.PENDING,
                                Notice.next_attempt_at <= ctx.now())
        .order_by(Notice.id).limit(limit)))


def claim(ctx: Context, notice_id: int, worker: str) -> Notice | None:
    """Take the notice for this run: a conditional UPDATE that only one run can win (None when
    another run took it, or it is no longer due)."""
    now = ctx.now()
    won = rows_changed(ctx.session, update(Notice).where(
        Notice.id == notice_id, Notice.status == NoticeStatus.PENDING,
        Notice.next_attempt_at <= now,
    ).values(status=NoticeStatus.SENDING, claimed_by=worker, claimed_at=now,
             attempts=Notice.attempts + 1).execution_options(synchronize_session=False))
    if won != 1:
        return None
    return ctx.session.get(Notice, notice_id, populate_existing=True)


def mark_sent(ctx: Context, notice_id: int, worker: str) -> None:
    rows_changed(ctx.session, update(Notice).where(
        Notice.id == notice_id, Notice.status == NoticeStatus.SENDING,
        Notice.claimed_by == worker,
    ).values(status=NoticeStatus.SENT, sent_at=ctx.now(), last_error=None)
        .execution_options(synchronize_session=False))


def mark_failed_attempt(ctx: Context, notice_id: int, worker: str, error: str,
                        backoff: Backoff) -> NoticeStatus:
    """The SMTP server did not take the notice: try again after the back-off, or give up after
    the last attempt. Returns the notice's new status."""
    notice = ctx.session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.status != NoticeStatus.SENDING or notice.claimed_by != worker:
        return notice.status if notice is not None else NoticeStatus.FAILED
    now = ctx.now()
    notice.last_error = error[:1000]
    notice.claimed_by = None
    if notice.attempts >= backoff.max_attempts:
        notice.status = NoticeStatus.FAILED
    else:
        notice.status = NoticeStatus.PENDING
        notice.next_attempt_at = now + backoff.delay(notice.attempts)
    ctx.session.flush()
    return notice.status


STALE_CLAIM = timedelta(minutes=30)


def give_up_interrupted(ctx: Context, older_than: timedelta = STALE_CLAIM) -> int:
    """A run that died while sending leaves its notice claimed. Whether the server got it is
    unknown, and sending it again could repeat it, so it is marked failed, with the reason, for
    an administrator to read on the notices page."""
    before: datetime = ctx.now() - older_than
    return rows_changed(ctx.session, update(Notice).where(
        Notice.status == NoticeStatus.SENDING, Notice.claimed_at < before,
    ).values(status=NoticeStatus.FAILED,
             last_error="The run sending it stopped before the SMTP server answered; it may "
                        "or may not have been delivered, so it is not sent again.")
        .execution_options(synchronize_session=False))
