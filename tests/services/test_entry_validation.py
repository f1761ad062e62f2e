"""Entry validation (RULES.md §1, §4, §6.2, §8): bad input is refused with a message naming the
field and what is accepted, and nothing is stored."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tracker.db import Base
from tracker.services import patients, prescriptions, records
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


def row_counts(ctx: Context) -> dict[str, int]:
    return {name: ctx.session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()}


def refused(ctx: Context, call, field: str) -> str:  # type: ignore[no-untyped-def]
    before = row_counts(ctx)
    with pytest.raises(ValidationFailed) as invalid:
        call()
    assert field in invalid.value.errors, invalid.value.errors
    assert row_counts(ctx) == before
    return " ".join(invalid.value.errors[field])


def test_clinical_dates_in_the_future_are_refused(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    tomorrow = doc.today() + timedelta(days=1)
    assert "future" in refused(doc, lambda: records.record_counseling(doc, p.id, tomorrow),
                               "counseled_on")
    refused(doc, lambda: records.record_pregnancy_test(doc, p.id, tomorrow, "negative", "lab"),
            "collected_on")
    refused(doc, lambda: prescriptions.write_prescription(doc, p.id, tomorrow, 30, 30),
            "written_on")


def test_clinical_dates_before_birth_are_refused(doc: Context) -> None:
    p = builders.enrolled_patient(doc, born=date(2000, 6, 1))
    message = refused(doc, lambda: records.record_counseling(doc, p.id, date(2000, 5, 31)),
                      "counseled_on")
    assert "birth" in message


def test_contraception_that_is_neither_two_methods_nor_abstinence_is_refused(
    doc: Context,
) -> None:
    p = builders.enrolled_patient(doc)
    today = doc.today()
    for methods in (["male_condom", "diaphragm_with_spermicide"], ["iud"], [],
                    ["iud", "iud"], ["progestin_only_pill", "iud"], ["no_such_method", "iud"]):
        refused(doc, lambda m=methods: records.record_contraception(
            doc, p.id, today, today, m, False), "methods")
    refused(doc, lambda: records.record_contraception(doc, p.id, today, today, ["iud"], True),
            "methods")
    refused(doc, lambda: records.record_contraception(
        doc, p.id, today - timedelta(days=2), today, ["iud", "male_condom"], False),
        "started_on")


def test_abstinence_alone_is_accepted(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    row = records.record_contraception(doc, p.id, doc.today(), doc.today(), [], True)
    assert row.abstinence and row.methods == ""


@pytest.mark.parametrize(("days", "refills", "field"), [
    (31, 0, "days_supply"), (0, 0, "days_supply"), (30, 1, "refills")])
def test_days_supply_over_thirty_or_a_refill_is_refused_at_entry(
    doc: Context, days: int, refills: int, field: str
) -> None:
    """RULES.md §12 example 7."""
    p = builders.enrolled_patient(doc)
    refused(doc, lambda: prescriptions.write_prescription(doc, p.id, doc.today(), days, 30,
                                                           refills), field)


def test_signature_must_match_the_registered_name(doc: Context) -> None:
    p = builders.patient(doc, first="Alex", last="Rivera")
    refused(doc, lambda: patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivers",
                                                        witness=SIGNED),
            "patient_signature")
    ack = patients.record_acknowledgment(doc, p.id, doc.today(), "  alex   RIVERA ", witness=SIGNED)
    assert ack.patient_signature == "alex RIVERA"


def test_minor_needs_a_guardian_signature(doc: Context) -> None:
    today = doc.today()
    born = date(today.year - 17, today.month, 1)
    p = builders.patient(doc, first="Riley", last="Chen", born=born)
    refused(doc, lambda: patients.record_acknowledgment(doc, p.id, today, "Riley Chen",
                                                        witness=SIGNED),
            "guardian_signature")
    ack = patients.record_acknowledgment(doc, p.id, today, "Riley Chen",
                                         guardian_signature="Morgan Chen",
                                         guardian_relationship="mother", witness=SIGNED)
    assert ack.guardian_signature == "Morgan Chen"


def test_eighteenth_birthday_needs_no_guardian(doc: Context) -> None:
    today = doc.today()
    born = date(today.year - 18, today.month, today.day)
    p = builders.patient(doc, first="Riley", last="Chen", born=born)
    assert patients.record_acknowledgment(doc, p.id, today, "Riley Chen", witness=SIGNED).id


def test_patient_names_are_limited_to_100_characters(doc: Context) -> None:
    refused(doc, lambda: patients.register_patient(doc, "A" * 101, "B", date(2000, 1, 1),
                                                   "can_get_pregnant"), "first_name")
    refused(doc, lambda: patients.register_patient(doc, "A", "B", date(2000, 1, 1),
                                                   "sometimes"), "category")


def test_comprehension_answers_must_cover_every_question(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    partial = dict(builders.ANSWERS)
    partial.pop("share-ok")
    refused(doc, lambda: records.record_comprehension(doc, p.id, doc.today(), partial,
                                                      ["iud", "male_condom"], False),
            "answers.share-ok")


def test_failed_comprehension_attempt_is_kept_with_the_wrong_answers(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    answers = {**builders.ANSWERS, "share-ok": True}
    row = records.record_comprehension(doc, p.id, doc.today(), answers, ["iud", "male_condom"],
                                       False)
    assert row.passed is False and row.wrong == "share-ok"
