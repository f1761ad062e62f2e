"""The bulk demo generator: its rows are rows the app itself could have written. Every
authorization and dispense it lays out is re-decided by the rules engine on its date, the
e-signatures and the audit chain verify, the mix of states is there, and a seed gives the same
data twice. Keys are checked on both databases (the test loads without `trust_keys`)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.bulkdemo import generate_patients
from tracker.cli import main
from tracker.db import Database
from tracker.domain.facts import (
    Case,
    OpenAuthorization,
    PharmacyFacts,
    PrescriberFacts,
    PrescriptionFacts,
    PrescriptionStatus,
)
from tracker.domain.rules import evaluate, evaluate_dispense
from tracker.models import (
    AuditEvent,
    Authorization,
    ComprehensionAttempt,
    CourseEnd,
    Dispense,
    Patient,
    PregnancyTest,
    Prescription,
    User,
)
from tracker.services.context import Context
from tracker.services.facts import load_many_patient_facts, prescriber_facts
from tracker.services.integrity import verify_all

PATIENTS = 500


@pytest.fixture
def generated(ctx: Context) -> Context:
    generate_patients(ctx, PATIENTS, seed=11)
    return ctx


def _world(session: Session):  # type: ignore[no-untyped-def]
    patients = session.scalars(select(Patient).order_by(Patient.id)).all()
    facts = load_many_patient_facts(session, list(patients))
    prescribers = {u.id: prescriber_facts(u) for u in session.scalars(
        select(User).where(User.role == "prescriber"))}
    prescriptions = {rx.id: rx for rx in session.scalars(select(Prescription))}
    return patients, facts, prescribers, prescriptions


def _case(rx: Prescription, status: PrescriptionStatus, facts, prescriber: PrescriberFacts):  # type: ignore[no-untyped-def]
    return Case(PrescriptionFacts(rx.id, status, rx.written_on, rx.days_supply, rx.quantity),
                facts[rx.patient_id], prescriber)


def test_every_generated_authorization_is_what_the_engine_issues_on_its_date(
        generated: Context) -> None:
    session = generated.session
    _, facts, prescribers, prescriptions = _world(session)
    auths = session.scalars(select(Authorization)).all()
    assert len(auths) > PATIENTS  # months of fills
    for auth in auths:
        rx = prescriptions[auth.prescription_id]
        decision = evaluate(_case(rx, PrescriptionStatus.PENDING, facts,
                                  prescribers[rx.prescriber_id]),
                            auth.issued_on, generated.policy(auth.issued_on))
        assert decision.unmet == (), (auth.id, decision.unmet)
        assert decision.rule_set == auth.rule_set
        assert decision.do_not_dispense_after == auth.do_not_dispense_after
        assert [list(u) for u in decision.used] == json.loads(auth.decision_used)


def test_every_generated_dispense_is_allowed_by_the_engine_on_its_date(
        generated: Context) -> None:
    session = generated.session
    _, facts, prescribers, prescriptions = _world(session)
    auths = {a.id: a for a in session.scalars(select(Authorization))}
    dispenses = session.scalars(select(Dispense)).all()
    assert dispenses
    for row in dispenses:
        rx = prescriptions[row.prescription_id]
        auth = auths[row.authorization_id]
        assert auth.state == "dispensed" and rx.status == "dispensed"
        assert auth.closed_by == row.pharmacist_id and auth.closed_at == row.dispensed_at
        on = row.dispensed_on
        # The pharmacy table holds only the latest activation; the dispense is re-decided with
        # a pharmacy active on its date, so that every patient requirement is what is checked.
        decision = evaluate_dispense(
            _case(rx, PrescriptionStatus.DISPENSABLE, facts, prescribers[rx.prescriber_id]),
            on, generated.rule_sets, PharmacyFacts(on, on),
            OpenAuthorization(auth.number, rx.id, auth.issued_on, auth.do_not_dispense_after,
                              auth.rule_set))
        assert decision.unmet == (), (row.id, decision.unmet)


def test_the_generated_population_has_every_state_a_program_sees(generated: Context) -> None:
    session = generated.session
    patients, facts, prescribers, prescriptions = _world(session)
    categories = Counter(p.category for p in patients)
    assert categories["can_get_pregnant"] > PATIENTS * 0.4
    assert categories["cannot_get_pregnant"] > PATIENTS * 0.3
    assert session.scalar(select(func.count()).select_from(CourseEnd)) > PATIENTS * 0.2
    assert session.scalar(select(func.count()).select_from(PregnancyTest).where(
        PregnancyTest.result == "positive")) >= 1
    assert session.scalar(select(func.count()).select_from(ComprehensionAttempt).where(
        ComprehensionAttempt.passed.is_(False))) >= 1
    states = Counter(session.scalars(select(Authorization.state)))
    assert states["dispensed"] > PATIENTS and states["open"] >= 5 and states["reversed"] >= 1
    not_enrolled = sum(1 for p in patients if not facts[p.id].acknowledgments)
    assert not_enrolled >= 1
    # Today: some pending prescriptions can be marked dispensable, others are refused.
    today = generated.today()
    outcomes = Counter()
    for rx in prescriptions.values():
        if rx.status == "pending":
            decision = evaluate(_case(rx, PrescriptionStatus.PENDING, facts,
                                      prescribers[rx.prescriber_id]),
                                today, generated.policy(today))
            outcomes[decision.dispensable] += 1
    assert outcomes[True] >= 1 and outcomes[False] >= 1


def test_generation_is_one_audit_event_and_the_trail_and_signatures_verify(
        generated: Context) -> None:
    session = generated.session
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "demo.generated"))
    (event,) = events.all()
    described = json.loads(event.new_values or "{}")
    assert described["patients"] == PATIENTS and described["seed"] == 11
    assert described["rows"]["patients"] == PATIENTS
    report = verify_all(generated)
    assert report.ok, (report.chain, report.bad_signatures[:3])
    assert report.signatures_checked > PATIENTS


def _snapshot(session: Session) -> list[object]:
    people = session.execute(select(Patient.first_name, Patient.last_name, Patient.date_of_birth,
                                    Patient.category).order_by(Patient.id)).all()
    rx = session.execute(select(Prescription.written_on, Prescription.status, Prescription.number)
                         .order_by(Prescription.id)).all()
    tests = session.execute(select(PregnancyTest.collected_on, PregnancyTest.result,
                                   PregnancyTest.setting).order_by(PregnancyTest.id)).all()
    return [list(people), list(rx), list(tests)]


def test_the_same_seed_gives_the_same_patients(ctx: Context) -> None:
    session = ctx.session
    runs = []
    for seed in (5, 5, 6):
        nested = session.begin_nested()
        generate_patients(ctx, 60, seed=seed)
        runs.append(_snapshot(session))
        nested.rollback()
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_generated_numbers_are_unique_and_shaped_like_the_apps(generated: Context) -> None:
    session = generated.session
    numbers = session.scalars(select(Authorization.number)).all()
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 14 and n.count("-") == 2 for n in numbers)
    assert all(n.startswith("RX-") and len(n) == 12
               for n in session.scalars(select(Prescription.number)))


def test_generation_refuses_a_negative_count(ctx: Context) -> None:
    with pytest.raises(ValueError, match="negative"):
        generate_patients(ctx, -1)


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def env(fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "bulk-test-secret")
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    return fresh_database


def _count(url: str, model: type) -> int:
    database = Database(url)
    try:
        with database.transaction(writes=False) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        database.engine.dispose()


def test_demo_command_builds_the_small_demo_then_the_generated_patients(
        env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--patients", "40", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert "Generating patients" in err
    assert "generated 40 patients (seed 3)" in out
    assert "admin@demo.test" in out  # the small demo's logins come first
    small_demo = 12
    assert _count(env, Patient) == small_demo + 40
    # A second run adds patients to the existing database, without a second small demo.
    assert main(["demo", "--patients", "10"]) == 0
    out, _ = capsys.readouterr()
    assert "admin@demo.test" not in out
    assert _count(env, Patient) == small_demo + 50
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_demo_command_without_patients_still_wants_an_empty_database(
        env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--patients", "5"]) == 0
    capsys.readouterr()
    assert main(["demo"]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["demo", "--if-empty", "--patients", "5"]) == 0
    assert _count(env, Patient) == 12 + 5


def test_demo_command_refuses_a_count_below_one(env: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--patients", "0"]) != 0
    assert "--patients" in capsys.readouterr().err


def test_generated_dates_never_lie_after_the_program_date(generated: Context) -> None:
    session = generated.session
    today = generated.today()
    latest: list[date | None] = [
        session.scalar(select(func.max(PregnancyTest.collected_on))),
        session.scalar(select(func.max(Dispense.dispensed_on))),
        session.scalar(select(func.max(Authorization.issued_on))),
        session.scalar(select(func.max(Prescription.written_on))),
        session.scalar(select(func.max(CourseEnd.last_dose_on))),
    ]
    assert all(day is not None and day <= today for day in latest)
