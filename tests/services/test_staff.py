"""Office staff (role `staff`): they work on the patients of the prescribers they work for and
prepare the prescriber's work, but never sign for them (API.md); another prescriber's patient
is not found; whom they work for is set by an administrator and ended by the prescriber, both
audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import ANSWERS, SIGNED
from tracker.domain.next_steps import StepKind
from tracker.models import Acknowledgment, AuditEvent, Authorization, Counseling
from tracker.services import (
    authorizations,
    care_team,
    patients,
    prescriptions,
    records,
    users,
)
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed
from tracker.services.queries import patient_history, worklist


def _count(ctx: Context, model: object) -> int:
    return ctx.session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def _events(ctx: Context, action: str) -> int:
    return ctx.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == action)) or 0


def test_staff_prepare_a_first_fill_for_their_prescriber(ctx: Context) -> None:
    doctor = builders.prescriber(ctx, name="Dana Derm")
    staff = builders.staff(ctx, doctor)
    office = builders.as_user(ctx, staff)
    today = ctx.today()
    patient = patients.register_patient(office, "Alex", "Rivera", today - timedelta(days=9000),
                                        "cannot_get_pregnant")
    assert patient.prescriber_id == doctor.id and patient.created_by == staff.id
    records.record_pregnancy_test(office, patient.id, today, "negative", "lab")
    rx = prescriptions.write_prescription(office, patient.id, today, 30, 30)
    # The prescription is the prescriber's; who drafted it is kept.
    assert (rx.prescriber_id, rx.written_by) == (doctor.id, staff.id)
    assert prescriptions.eligibility(office, rx.id).unmet  # staff may read the decision
    chart = patient_history.chart(office, patient.id)
    assert {e.entered_by for e in chart.history.items} == {"Sam Staff (office staff)"}


@pytest.mark.parametrize("act", ["acknowledgment", "counseling", "authorize"])
def test_staff_never_sign_for_the_prescriber(ctx: Context, act: str) -> None:
    doctor = builders.prescriber(ctx, name="Dana Derm")
    doc = builders.as_user(ctx, doctor)
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    office = builders.as_user(ctx, builders.staff(ctx, doctor))
    before = (_count(ctx, Acknowledgment), _count(ctx, Counseling), _count(ctx, Authorization))
    with pytest.raises(Forbidden, match="Only Dr Dana Derm can"):
        if act == "acknowledgment":
            patients.record_acknowledgment(office, patient.id, ctx.today(), "Alex Rivera",
                                           witness=SIGNED)
        elif act == "counseling":
            records.record_counseling(office, patient.id, ctx.today())
        else:
            authorizations.authorize(office, rx.id, signature=SIGNED)
    assert (_count(ctx, Acknowledgment), _count(ctx, Counseling),
            _count(ctx, Authorization)) == before


def test_staff_do_the_rest_of_the_course(ctx: Context) -> None:
    doctor = builders.prescriber(ctx)
    patient = builders.enrolled_patient(builders.as_user(ctx, doctor))
    office = builders.as_user(ctx, builders.staff(ctx, doctor))
    today = ctx.today()
    records.record_contraception(office, patient.id, today, today - timedelta(days=40),
                                 ["iud", "male_condom"], False)
    attempt = records.record_comprehension(office, patient.id, today, ANSWERS,
                                           ["iud", "male_condom"], False)
    assert attempt.passed
    patients.end_course(office, patient.id, today)
    patients.change_category(office, patient.id, "cannot_get_pregnant", "Hysterectomy")


def test_another_prescribers_staff_find_nothing(ctx: Context) -> None:
    doctor, other = builders.prescriber(ctx), builders.prescriber(ctx, name="Other Doc")
    doc = builders.as_user(ctx, doctor)
    patient = builders.enrolled_patient(doc)
    rx = builders.prescription(doc, patient.id)
    elsewhere = builders.as_user(ctx, builders.staff(ctx, other))
    with pytest.raises(NotFound):
        records.record_pregnancy_test(elsewhere, patient.id, ctx.today(), "negative", "lab")
    with pytest.raises(NotFound):
        prescriptions.own_prescription(elsewhere, rx.id)
    with pytest.raises(NotFound):
        patient_history.chart(elsewhere, patient.id)
    assert worklist.worklist(elsewhere).page.total == 0


def test_staff_of_several_prescribers_name_the_prescriber_of_a_new_patient(ctx: Context) -> None:
    first, second = builders.prescriber(ctx), builders.prescriber(ctx, name="Second Doc")
    outsider = builders.prescriber(ctx, name="Not Theirs")
    office = builders.as_user(ctx, builders.staff(ctx, first, second))
    born = ctx.today() - timedelta(days=9000)
    with pytest.raises(ValidationFailed) as missing:
        patients.register_patient(office, "Alex", "Rivera", born, "can_get_pregnant")
    assert "prescriber_npi" in missing.value.errors
    with pytest.raises(ValidationFailed) as not_theirs:
        patients.register_patient(office, "Alex", "Rivera", born, "can_get_pregnant",
                                  outsider.npi)
    assert not_theirs.value.errors["prescriber_npi"] == [
        "Give the NPI of a prescriber you work for."]
    patient = patients.register_patient(office, "Alex", "Rivera", born, "can_get_pregnant",
                                        second.npi)
    assert patient.prescriber_id == second.id
    # The worklist shows both prescribers' patients, or one prescriber's.
    builders.patient(builders.as_user(ctx, first), first="Blair")
    assert worklist.worklist(office).page.total == 2
    only_second = worklist.worklist(office, prescriber_id=second.id)
    assert [row.patient.id for row in only_second.page.items] == [patient.id]
    assert only_second.page.items[0].prescriber_name == "Second Doc"
    # A prescriber they do not work for filters nothing in.
    assert worklist.worklist(office, prescriber_id=outsider.id).page.total == 2


def test_a_prescription_staff_prepared_is_ready_for_the_prescriber_to_sign(ctx: Context) -> None:
    doctor = builders.prescriber(ctx)
    doc = builders.as_user(ctx, doctor)
    patient = builders.ready_for_first_fill(doc)
    office = builders.as_user(ctx, builders.staff(ctx, doctor))
    rx = prescriptions.write_prescription(office, patient.id, ctx.today(), 30, 30)
    steps = worklist.worklist(doc).page.items[0].steps
    assert [s.kind for s in steps if s.prescription_id == rx.id] == [StepKind.READY_TO_SIGN]
    authorizations.authorize(doc, rx.id, signature=SIGNED)


def test_a_prescriber_ends_a_staff_members_work_for_them(ctx: Context) -> None:
    doctor = builders.prescriber(ctx)
    patient = builders.enrolled_patient(builders.as_user(ctx, doctor))
    staff = builders.staff(ctx, doctor)
    office = builders.as_user(ctx, staff)
    assert [u.id for u in care_team.staff_of(ctx, doctor.id)] == [staff.id]
    care_team.end_work_for_me(builders.as_user(ctx, doctor), staff.id)
    assert care_team.staff_of(ctx, doctor.id) == []
    assert _events(ctx, "staff.work_ended") == 1
    with pytest.raises(NotFound):
        patients.own_patient(office, patient.id)
    with pytest.raises(NotFound):  # already ended
        care_team.end_work_for_me(builders.as_user(ctx, doctor), staff.id)
    with pytest.raises(Forbidden):  # staff do not end their own or others' work
        care_team.end_work_for_me(office, staff.id)


def test_an_administrator_sets_whom_staff_work_for(ctx: Context) -> None:
    first, second = builders.prescriber(ctx), builders.prescriber(ctx, name="Second Doc")
    staff = builders.staff(ctx, first)
    admin = builders.as_user(ctx, builders.admin(ctx))
    now = care_team.set_prescribers(admin, staff.id, [second.email.upper()])
    assert [u.id for u in now] == [second.id]
    assert (_events(ctx, "staff.works_for"), _events(ctx, "staff.work_ended")) == (2, 1)
    # Working for the first prescriber again reopens the same link.
    care_team.set_prescribers(admin, staff.id, [first.email, second.email])
    assert {u.id for u in care_team.prescribers_of(ctx, staff.id)} == {first.id, second.id}
    with pytest.raises(ValidationFailed) as unknown:
        care_team.set_prescribers(admin, staff.id, ["nobody@example.test"])
    assert unknown.value.errors["works_for"] == ["No prescriber has the email "
                                                 "nobody@example.test."]
    with pytest.raises(ValidationFailed):
        care_team.set_prescribers(admin, staff.id, [])
    with pytest.raises(Forbidden):
        care_team.set_prescribers(builders.as_user(ctx, first), staff.id, [first.email])


def test_staff_are_created_working_for_at_least_one_known_prescriber(ctx: Context) -> None:
    doctor = builders.prescriber(ctx)
    with pytest.raises(ValidationFailed) as none:
        users.create_user(ctx, role="staff", email="s1@example.test", name="S One")
    assert "works_for" in none.value.errors
    with pytest.raises(ValidationFailed) as unknown:
        users.create_user(ctx, role="staff", email="s1@example.test", name="S One",
                          works_for=["ghost@example.test"])
    assert unknown.value.errors["works_for"] == ["No prescriber has the email "
                                                 "ghost@example.test."]
    with pytest.raises(ValidationFailed) as not_staff:
        users.create_user(ctx, role="pharmacist", email="p1@example.test", name="P One",
                          works_for=[doctor.email])
    assert "works_for" in not_staff.value.errors
    made = users.create_user(ctx, role="staff", email="s1@example.test", name="S One",
                             works_for=[doctor.email], fast_hash=True)
    assert [u.id for u in care_team.prescribers_of(ctx, made.user.id)] == [doctor.id]
